// Articles (knowledge, news, the self-check guide) and polls
// (docs/community.md "Knowledge and news", "Polls"): bad input for every
// endpoint, the body sanitised with positive controls, drafts hidden from
// residents, the region subtree deciding who sees an article, the cover
// served to residents, a staff user outside scope; a poll answered once
// (409 already_voted), after closing (409 poll_closed), results per option
// and per building, their CSV and xlsx, results hidden when the poll says
// so. One server; the tests build on each other's data in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { residentId, smsCode, startCityWith, expectError } from './lib.mjs';

const PW = 'Article-test-2024!';
const COMMUNITY = '110101001001';
const BUILDING = '110101001001001001';
const OTHER_COMMUNITY = '110101002001';
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, ...Buffer.alloc(64, 0x5a)]);
let ctx, cc, ccWest, comm, grid;
let resA, resB, resC;
let seq = 0;
const rid = () => residentId('110101', '19700606', 700 + ++seq * 2);

async function resident(phone, body) {
  const c = ctx.client();
  await c.post('/api/v1/auth/sms/send', { phone });
  const r0 = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r0.status, 200, r0.text);
  await c.post('/api/v1/me/consent', { version: 'v1' });
  const r = await c.post('/api/v1/me/person', { id_number: rid(), address: '多福巷2号', ...body });
  assert.equal(r.status, 201, r.text);
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
  // A lives in the building, B in the community, C in another community
  resA = await resident('13900000011', { name: '张三丰', region_code: BUILDING });
  resB = await resident('13900000012', { name: '李四海', region_code: COMMUNITY });
  resC = await resident('13900000013', { name: '王五岳', region_code: OTHER_COMMUNITY });
});

after(async () => {
  await ctx?.stop();
});

const good = { region_code: COMMUNITY, kind: 'news', title: '社区恢复开放', body: '<p>今日起恢复开放</p>', published: true };
let news, draft;

test('articles: bad input is refused field by field and writes nothing', async () => {
  expectError(await comm.post('/api/v1/articles', { ...good, title: '  ' }), 400, 'required', 'title');
  expectError(await comm.post('/api/v1/articles', { ...good, title: '长'.repeat(101) }), 400, 'too_long', 'title');
  expectError(await comm.post('/api/v1/articles', { ...good, kind: 'gossip' }), 400, 'invalid_value', 'kind');
  expectError(await comm.post('/api/v1/articles', { ...good, kind: undefined }), 400, 'required', 'kind');
  expectError(await comm.post('/api/v1/articles', { ...good, region_code: 'x' }), 400, 'invalid_region', 'region_code');
  expectError(await comm.post('/api/v1/articles', { ...good, published: 1 }), 400, 'invalid_type', 'published');
  expectError(await comm.post('/api/v1/articles', { ...good, colour: 'red' }), 400, 'unknown_field', 'colour');
  expectError(await comm.post('/api/v1/articles', { ...good, body: '<script>alert(1)</script>' }), 400, 'required', 'body');
  expectError(await comm.post('/api/v1/articles', { ...good, cover_id: 'abc' }), 400, 'invalid_attachment', 'cover_id');
  expectError(await comm.post('/api/v1/articles', { ...good, cover_id: '123456' }), 400, 'invalid_attachment', 'cover_id');
  expectError(await comm.post('/api/v1/articles', { ...good, region_code: OTHER_COMMUNITY }), 404, 'not_found', 'region_code');
  expectError(await grid.post('/api/v1/articles', good), 403, 'forbidden');
  expectError(await comm.get('/api/v1/articles?kind=gossip'), 400, 'invalid_parameter', 'kind');
  expectError(await comm.get('/api/v1/articles?state=gone'), 400, 'invalid_parameter', 'state');
  const l = await comm.get('/api/v1/articles');
  assert.equal(l.status, 200, l.text);
  assert.equal(l.body.total, 0);
});

test('articles: published news is sanitised and reaches the residents of the subtree only', async () => {
  // a resident's upload is not the author's: refused
  const other = await resA.post('/api/v1/attachments', JPEG, { 'content-type': 'image/jpeg' });
  assert.equal(other.status, 201, other.text);
  expectError(await comm.post('/api/v1/articles', { ...good, cover_id: other.body.id }), 400, 'invalid_attachment', 'cover_id');
  const up = await comm.post('/api/v1/attachments', JPEG, { 'content-type': 'image/jpeg' });
  assert.equal(up.status, 201, up.text);
  const r = await comm.post('/api/v1/articles', {
    ...good, cover_id: up.body.id,
    body: '<p onclick="x()">今日<strong>恢复</strong>开放<script>alert(1)</script><a href="javascript:alert(1)">链接</a></p>',
  });
  assert.equal(r.status, 201, r.text);
  news = r.body;
  assert.equal(news.body, '<p>今日<strong>恢复</strong>开放<a rel="noopener">链接</a></p>');
  assert.equal(news.kind_label, '要闻播报');
  assert.equal(news.state, 'published');
  assert.equal(news.cover_id, up.body.id);
  assert.ok(news.published_at > 0);
  const d = await comm.post('/api/v1/articles', { ...good, kind: 'guide', title: '居家自查指引', body: '<p>每日测量体温</p>', published: false });
  assert.equal(d.status, 201, d.text);
  draft = d.body;
  assert.equal(draft.published_at, null);

  // A (the building) and B (the community) see the news; C does not
  for (const c of [resA, resB]) {
    const m = await c.get('/api/v1/me/articles?kind=news');
    assert.equal(m.status, 200, m.text);
    assert.deepEqual(m.body.items.map((x) => x.title), ['社区恢复开放']);
    assert.equal(m.body.items[0].body, undefined);
  }
  assert.equal((await resC.get('/api/v1/me/articles')).body.total, 0);
  expectError(await resC.get(`/api/v1/me/articles/${news.id}`), 404, 'not_found');
  // the draft is for staff only
  assert.equal((await resA.get('/api/v1/me/articles?kind=guide')).body.total, 0);
  expectError(await resA.get(`/api/v1/me/articles/${draft.id}`), 404, 'not_found');
  expectError(await resA.get('/api/v1/me/articles?kind=gossip'), 400, 'invalid_parameter', 'kind');
  expectError(await comm.get('/api/v1/me/articles'), 403, 'forbidden');
  const one = await resA.get(`/api/v1/me/articles/${news.id}`);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.body.body, news.body);
  const cover = await resA.get(`/api/v1/me/articles/${news.id}/cover`);
  assert.equal(cover.status, 200);
  assert.equal(cover.headers.get('content-type'), 'image/jpeg');
  expectError(await resC.get(`/api/v1/me/articles/${news.id}/cover`), 404, 'not_found');
  expectError(await resA.get(`/api/v1/me/articles/${draft.id}/cover`), 404, 'not_found');
});

test('articles: staff filters, publishing a draft, outside scope, delete', async () => {
  assert.deepEqual((await comm.get('/api/v1/articles?state=draft')).body.items.map((x) => x.id), [draft.id]);
  assert.deepEqual((await comm.get('/api/v1/articles?kind=news')).body.items.map((x) => x.id), [news.id]);
  assert.equal((await cc.get('/api/v1/articles')).body.total, 2);
  assert.equal((await ccWest.get('/api/v1/articles')).body.total, 0);
  expectError(await ccWest.get(`/api/v1/articles/${news.id}`), 404, 'not_found');
  expectError(await ccWest.put(`/api/v1/articles/${news.id}`, good), 404, 'not_found');
  expectError(await ccWest.del(`/api/v1/articles/${news.id}`), 404, 'not_found');
  // the draft published, for the building only: A sees it, B does not
  expectError(await comm.put(`/api/v1/articles/${draft.id}`, { ...good, title: '' }), 400, 'required', 'title');
  const p = await comm.put(`/api/v1/articles/${draft.id}`, { ...good, kind: 'guide', title: '居家自查指引', body: '<h3>体温</h3><p>每日两次</p>', region_code: BUILDING });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.state, 'published');
  assert.ok(p.body.published_at > 0);
  assert.equal(p.body.region_name, '1号楼');
  assert.deepEqual((await resA.get('/api/v1/me/articles?kind=guide')).body.items.map((x) => x.title), ['居家自查指引']);
  assert.equal((await resB.get('/api/v1/me/articles?kind=guide')).body.total, 0);
  const g = await comm.get(`/api/v1/articles/${news.id}/cover`);
  assert.equal(g.status, 200);
  // the cover removed: gone for residents too
  const nc = await comm.put(`/api/v1/articles/${news.id}`, { ...good, cover_id: null });
  assert.equal(nc.status, 200, nc.text);
  assert.equal(nc.body.cover_id, null);
  expectError(await resA.get(`/api/v1/me/articles/${news.id}/cover`), 404, 'not_found');
  const del = await comm.del(`/api/v1/articles/${news.id}`);
  assert.equal(del.status, 204, del.text);
  expectError(await resA.get(`/api/v1/me/articles/${news.id}`), 404, 'not_found');
  expectError(await comm.del(`/api/v1/articles/${news.id}`), 404, 'not_found');
});

test('articles: body images are served through the article, only the ones its body shows', async () => {
  const up = async (c) => {
    const u = await c.post('/api/v1/attachments', JPEG, { 'content-type': 'image/jpeg' });
    assert.equal(u.status, 201, u.text);
    return u.body.id;
  };
  const [img1, img2, theirs] = [await up(comm), await up(comm), await up(resA)];
  const withImg = (...ids) => '<p>看图</p>' + ids.map((i) => `<img src="${i}" alt="示意">`).join('');
  const stored = (i) => `/api/v1/attachments/${i}`;
  // someone else's upload, an unknown id: refused, nothing written
  expectError(await comm.post('/api/v1/articles', { ...good, body: withImg(stored(theirs)) }), 400, 'invalid_attachment', 'body');
  expectError(await comm.post('/api/v1/articles', { ...good, body: withImg(stored('123456')) }), 400, 'invalid_attachment', 'body');
  const before = (await comm.get('/api/v1/articles')).body.total;
  const r = await comm.post('/api/v1/articles', { ...good, kind: 'knowledge', title: '正确佩戴口罩', body: withImg(stored(img1)) });
  assert.equal(r.status, 201, r.text);
  assert.equal((await comm.get('/api/v1/articles')).body.total, before + 1);
  const id = r.body.id;
  const staffSrc = (i) => `/api/v1/articles/${id}/images/${i}`;
  const mineSrc = (i) => `/api/v1/me/articles/${id}/images/${i}`;
  assert.equal(r.body.body, withImg(staffSrc(img1)));
  // the resident's body names the article's route; the image is the upload
  const one = await resA.get(`/api/v1/me/articles/${id}`);
  assert.equal(one.status, 200, one.text);
  assert.equal(one.body.body, withImg(mineSrc(img1)));
  const got = await resA.get(mineSrc(img1));
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('content-type'), 'image/jpeg');
  assert.equal(Number(got.headers.get('content-length')), JPEG.length);
  expectError(await resA.get(stored(img1)), 404, 'not_found'); // why the route exists
  // an attachment the body does not show is not served, whoever holds it
  expectError(await resA.get(mineSrc(img2)), 404, 'not_found');
  expectError(await resA.get(mineSrc(theirs)), 404, 'not_found');
  expectError(await resA.get(`/api/v1/me/articles/${id}/images/x`), 404, 'not_found');
  expectError(await resC.get(mineSrc(img1)), 404, 'not_found'); // another community
  assert.equal((await comm.get(staffSrc(img1))).status, 200);
  expectError(await ccWest.get(staffSrc(img1)), 404, 'not_found');
  // the editor sends the body back as it got it, with one more fresh upload
  const e1 = await comm.put(`/api/v1/articles/${id}`, { ...good, kind: 'knowledge', title: '正确佩戴口罩', body: withImg(staffSrc(img1), stored(img2)) });
  assert.equal(e1.status, 200, e1.text);
  assert.equal(e1.body.body, withImg(staffSrc(img1), staffSrc(img2)));
  assert.equal((await resA.get(mineSrc(img2))).status, 200);
  // another article cannot take an image this one holds
  expectError(await comm.post('/api/v1/articles', { ...good, body: withImg(stored(img2)) }), 400, 'invalid_attachment', 'body');
  // an image taken out of the body is gone
  const e2 = await comm.put(`/api/v1/articles/${id}`, { ...good, kind: 'knowledge', title: '正确佩戴口罩', body: withImg(staffSrc(img2)) });
  assert.equal(e2.status, 200, e2.text);
  expectError(await resA.get(mineSrc(img1)), 404, 'not_found');
  expectError(await comm.get(staffSrc(img1)), 404, 'not_found');
  assert.equal((await resA.get(mineSrc(img2))).status, 200);
  assert.equal((await comm.del(`/api/v1/articles/${id}`)).status, 204);
  expectError(await comm.get(staffSrc(img2)), 404, 'not_found');
});

const QUESTIONS = [
  { text: '是否同意周末开放菜市场', type: 'single', options: ['同意', '不同意'] },
  { text: '希望增加哪些服务', type: 'multiple', options: ['买菜', '送药', '理发'] },
  { text: '其他建议', type: 'text' },
];
const inADay = () => Date.now() + 24 * 3600 * 1000;
let poll, hidden;

test('polls: bad input is refused field by field and writes nothing', async () => {
  const pg = { region_code: COMMUNITY, audience: 'all', title: '菜市场开放意见征集', questions: QUESTIONS, closes_at: inADay() };
  expectError(await comm.post('/api/v1/polls', { ...pg, questions: [] }), 400, 'required', 'questions');
  expectError(await comm.post('/api/v1/polls', { ...pg, questions: 'x' }), 400, 'invalid_type', 'questions');
  expectError(await comm.post('/api/v1/polls', { ...pg, questions: [{ text: '', type: 'single', options: ['a', 'b'] }] }), 400, 'required', 'questions[0].text');
  expectError(await comm.post('/api/v1/polls', { ...pg, questions: [{ text: 'q', type: 'rank', options: ['a', 'b'] }] }), 400, 'invalid_value', 'questions[0].type');
  expectError(await comm.post('/api/v1/polls', { ...pg, questions: [{ text: 'q', type: 'single', options: ['a'] }] }), 400, 'invalid_value', 'questions[0].options');
  expectError(await comm.post('/api/v1/polls', { ...pg, questions: [{ text: 'q', type: 'single', options: ['a', ' '] }] }), 400, 'invalid_value', 'questions[0].options[1]');
  expectError(await comm.post('/api/v1/polls', { ...pg, questions: [{ text: 'q', type: 'text', options: ['a'] }] }), 400, 'invalid_value', 'questions[0].options');
  expectError(await comm.post('/api/v1/polls', { ...pg, questions: [{ text: 'q', type: 'text', weight: 2 }] }), 400, 'unknown_field', 'questions[0].weight');
  expectError(await comm.post('/api/v1/polls', { ...pg, questions: [1] }), 400, 'invalid_type', 'questions[0]');
  expectError(await comm.post('/api/v1/polls', { ...pg, closes_at: Date.now() - 1000 }), 400, 'out_of_range', 'closes_at');
  expectError(await comm.post('/api/v1/polls', { ...pg, closes_at: 'tomorrow' }), 400, 'invalid_type', 'closes_at');
  expectError(await comm.post('/api/v1/polls', { ...pg, audience: 'everyone' }), 400, 'invalid_value', 'audience');
  expectError(await comm.post('/api/v1/polls', { ...pg, audience: 'building' }), 400, 'invalid_value', 'audience');
  expectError(await comm.post('/api/v1/polls', { ...pg, title: ' ' }), 400, 'required', 'title');
  expectError(await comm.post('/api/v1/polls', { ...pg, region_code: OTHER_COMMUNITY }), 404, 'not_found', 'region_code');
  expectError(await comm.post('/api/v1/polls', { ...pg, audience: 'observation' }), 409, 'no_recipients', 'audience');
  expectError(await grid.post('/api/v1/polls', pg), 403, 'forbidden');
  assert.equal((await comm.get('/api/v1/polls')).body.total, 0);
  const r = await comm.post('/api/v1/polls', pg);
  assert.equal(r.status, 201, r.text);
  poll = r.body;
  assert.equal(poll.recipients, 2);
  assert.equal(poll.state, 'open');
  assert.equal(poll.questions[2].type, 'text');
  assert.deepEqual(poll.questions[2].options, []);
  const h = await comm.post('/api/v1/polls', { ...pg, title: '不公开结果的问卷', region_code: BUILDING, audience: 'building', show_results: false, questions: QUESTIONS.slice(0, 1) });
  assert.equal(h.status, 201, h.text);
  hidden = h.body;
  assert.equal(hidden.recipients, 1);
});

test('polls: one answer per resident, results per option and per building', async () => {
  const mine = await resA.get('/api/v1/me/polls');
  assert.equal(mine.status, 200, mine.text);
  assert.equal(mine.body.to_answer, 2);
  assert.equal(mine.body.items[0].recipients, undefined);
  expectError(await resC.get(`/api/v1/me/polls/${poll.id}`), 404, 'not_found');
  expectError(await resC.post(`/api/v1/me/polls/${poll.id}/answer`, { answers: [0, [0], ''] }), 404, 'not_found');
  const one = await resA.get(`/api/v1/me/polls/${poll.id}`);
  assert.equal(one.body.my_answered, false);
  assert.equal(one.body.results, null);
  const url = `/api/v1/me/polls/${poll.id}/answer`;
  expectError(await resA.post(url, { answers: [0, [0]] }), 400, 'invalid_value', 'answers');
  expectError(await resA.post(url, { answers: [2, [0], ''] }), 400, 'invalid_value', 'answers[0]');
  expectError(await resA.post(url, { answers: ['0', [0], ''] }), 400, 'invalid_value', 'answers[0]');
  expectError(await resA.post(url, { answers: [0, [], ''] }), 400, 'invalid_value', 'answers[1]');
  expectError(await resA.post(url, { answers: [0, [1, 1], ''] }), 400, 'invalid_value', 'answers[1]');
  expectError(await resA.post(url, { answers: [0, [3], ''] }), 400, 'invalid_value', 'answers[1]');
  expectError(await resA.post(url, { answers: [0, [0], 5] }), 400, 'invalid_value', 'answers[2]');
  expectError(await resA.post(url, { answers: [0, [0], '长'.repeat(501)] }), 400, 'invalid_value', 'answers[2]');
  expectError(await resA.post(url, { answers: [0, [0], ''], extra: 1 }), 400, 'unknown_field', 'extra');
  expectError(await comm.post(url, { answers: [0, [0], ''] }), 403, 'forbidden');
  assert.equal((await comm.get(`/api/v1/polls/${poll.id}`)).body.answered, 0);

  const a = await resA.post(url, { answers: [0, [0, 2], '希望<b>早点</b>开放'] });
  assert.equal(a.status, 201, a.text);
  assert.equal(a.body.my_answered, true);
  assert.deepEqual(a.body.results, [[1, 0], [1, 0, 1], null]);
  // a second answer, even a different one, changes nothing
  expectError(await resA.post(url, { answers: [1, [1], ''] }), 409, 'already_voted');
  const b = await resB.post(url, { answers: [1, [0], ''] });
  assert.equal(b.status, 201, b.text);
  assert.deepEqual(b.body.results, [[1, 1], [2, 0, 1], null]);

  const r = await comm.get(`/api/v1/polls/${poll.id}/results`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.answered, 2);
  assert.deepEqual(r.body.results.counts, [[1, 1], [2, 0, 1], null]);
  const byName = Object.fromEntries(r.body.results.buildings.map((x) => [x.region_name, x]));
  assert.deepEqual(byName['1号楼'].counts, [[1, 0], [1, 0, 1], null]);
  assert.equal(byName['1号楼'].recipients, 1);
  assert.deepEqual(byName['多福巷社区'].counts, [[0, 1], [1, 0, 0], null]);
  // the text answer is kept as written (it is shown as text, never as HTML)
  assert.deepEqual(r.body.results.texts, [{ question: 2, text: '希望<b>早点</b>开放' }]);
  expectError(await ccWest.get(`/api/v1/polls/${poll.id}/results`), 404, 'not_found');
  assert.equal((await ccWest.get('/api/v1/polls')).body.total, 0);
  const csv = await comm.get(`/api/v1/polls/${poll.id}/results?format=csv`);
  assert.equal(csv.status, 200);
  assert.match(csv.text, /1号楼,是否同意周末开放菜市场,同意,1/);
  assert.match(csv.text, /全部,希望增加哪些服务,买菜,2/);
  const xlsx = await comm.get(`/api/v1/polls/${poll.id}/results?format=xlsx`);
  assert.equal(xlsx.status, 200);
  assert.match(xlsx.headers.get('content-type'), /spreadsheetml/);
  expectError(await comm.get(`/api/v1/polls/${poll.id}/results?format=pdf`), 400, 'invalid_parameter');
});

test('polls: hidden results, closing, answering after closing', async () => {
  const h = await resA.post(`/api/v1/me/polls/${hidden.id}/answer`, { answers: [1] });
  assert.equal(h.status, 201, h.text);
  assert.equal(h.body.results, null);
  expectError(await ccWest.post(`/api/v1/polls/${poll.id}/close`), 404, 'not_found');
  const c = await comm.post(`/api/v1/polls/${hidden.id}/close`);
  assert.equal(c.status, 200, c.text);
  assert.equal(c.body.state, 'closed');
  expectError(await comm.post(`/api/v1/polls/${hidden.id}/close`), 409, 'poll_closed');
  // a third poll, closed before B answers
  const p = await comm.post('/api/v1/polls', { region_code: COMMUNITY, audience: 'all', title: '临时问卷', questions: QUESTIONS.slice(0, 1), closes_at: inADay() });
  assert.equal(p.status, 201, p.text);
  assert.equal((await comm.post(`/api/v1/polls/${p.body.id}/close`)).status, 200);
  expectError(await resB.post(`/api/v1/me/polls/${p.body.id}/answer`, { answers: [0] }), 409, 'poll_closed');
  const r = await comm.get(`/api/v1/polls/${p.body.id}/results`);
  assert.equal(r.body.answered, 0);
  // closed and public: B sees the (empty) results without answering
  const seen = await resB.get(`/api/v1/me/polls/${p.body.id}`);
  assert.deepEqual(seen.body.results, [[0, 0]]);
  assert.equal((await resB.get('/api/v1/me/polls')).body.to_answer, 0);
  // the workbench counts the one poll still open (the first), in scope only
  const wb = (await comm.get('/api/v1/workbench')).body.entries.find((e) => e.key === 'polls_open');
  assert.equal(wb.count, 1);
  assert.equal(wb.console, '/polls');
  const west = (await ccWest.get('/api/v1/workbench')).body.entries.find((e) => e.key === 'polls_open');
  assert.equal(west.count, 0);
});
