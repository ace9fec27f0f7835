// 社区通知 in Chromium (docs/community.md "Notices"): community staff publish
// a notice on the console with the editor (bold text kept, a script typed
// as text shown as text); the resident sees the unread badge on the phone's
// home, opens the notice and sees its attachment; the console's receipt drawer, open meanwhile,
// turns that resident to 已读 when the reading is pushed (SSE, no reload, no
// poll: the receipts are read once on opening and once on the event).
// Then (docs/community.md "Knowledge and news", "Polls"): staff publish a
// poll on the console; the resident sees the news carousel and the poll
// badge on the phone's home, answers the poll and sees the totals; the
// console's results drawer counts that answer, in the resident's building;
// the news, edited back to a draft on the console's articles page, leaves
// the residents' list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, consolePage, openPage, adoptSession, assertClean, closed, shot, CITY_CSV, writeTmp, residentId, smsCode, sharedConsolePage } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!noticepage';
const COMMUNITY = '110101001001'; // 多福巷社区
const BUILDING = '110101001001001001'; // 1号楼
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
let ctx, browser, comm, resident;

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'np_comm', '--password', PW, '--role', 'community_staff', '--region', COMMUNITY]);
    },
  });
  comm = ctx.client();
  await comm.login('np_comm', PW);
  resident = ctx.client();
  const phone = '13700000011';
  await resident.post('/api/v1/auth/sms/send', { phone });
  const r0 = await resident.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r0.status, 200, r0.text);
  await resident.post('/api/v1/me/consent', { version: 'v1' });
  const r = await resident.post('/api/v1/me/person', { name: '孙七星', id_number: residentId('110101', '19700101', 801), region_code: BUILDING, address: '多福巷1号楼' });
  assert.equal(r.status, 201, r.text);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

test('a notice published on the console is read on a phone and shows as read in the receipts', async () => {
  const page = await sharedConsolePage(browser, ctx, '/notices', comm);
  await page.getByTestId('notice-new').click();
  const dialog = page.getByTestId('notice-dialog');
  await dialog.waitFor();
  await dialog.getByTestId('notice-region').click();
  await page.getByTestId(`region-${COMMUNITY}`).filter({ visible: true }).click();
  await dialog.getByTestId('notice-title').fill('核酸检测安排');
  const area = dialog.getByTestId('notice-body');
  await area.click();
  await page.keyboard.type('请居民 ');
  await dialog.getByTitle('加粗').dispatchEvent('mousedown');
  await page.keyboard.type('明早八点');
  await dialog.getByTitle('加粗').dispatchEvent('mousedown');
  await page.keyboard.type(' 到楼下检测<script>alert(1)</script>');
  // an attachment, uploaded as it is picked (a real 1x1 PNG)
  await dialog.getByTestId('notice-files').setInputFiles({ name: '检测点.png', mimeType: 'image/png', buffer: Buffer.from(PNG, 'base64') });
  await dialog.getByTestId('notice-file').filter({ hasText: '检测点.png' }).waitFor();
  await dialog.getByTestId('notice-save').click();
  await closed(dialog, page);
  const row = page.getByTestId('notice-list').locator('tr', { hasText: '核酸检测安排' });
  await row.waitFor();
  assert.equal((await row.getByTestId('notice-row-read').textContent()).trim(), '0 / 1');
  // the stored body: the bold kept as strong, the typed script as text
  const stored = (await comm.get('/api/v1/notices')).body.items[0];
  const detail = (await comm.get(`/api/v1/notices/${stored.id}`)).body;
  assert.match(detail.body, /<strong>明早八点<\/strong>/);
  assert.match(detail.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.ok(!detail.body.includes('<script'));

  // the receipts drawer stays open while the resident reads; every read of
  // the receipts is counted, and a mark on the window proves no reload
  const receiptReads = [];
  page.on('request', (q) => {
    if (/\/api\/v1\/notices\/\d+\/receipts/.test(q.url())) receiptReads.push(Date.now());
  });
  await page.evaluate(() => { window.__noReload = true; });
  await row.getByTestId('notice-receipts').click();
  const drawer = page.getByTestId('notice-receipts-drawer');
  await drawer.getByTestId('receipts-list').locator('tr', { hasText: '1号楼' }).getByText('未读').waitFor();
  await shot(page, 'notice-receipts-unread');

  const phone = await openPage(browser, { mobile: true });
  await adoptSession(phone, resident);
  await phone.goto(ctx.url + '/mobile/#/me');
  assert.equal((await phone.getByTestId('my-notices-unread').textContent()).trim(), '1');
  await phone.getByTestId('my-notices').click();
  const item = phone.getByTestId('notice-item').filter({ hasText: '核酸检测安排' });
  await item.getByTestId('notice-unread').waitFor();
  await shot(phone, 'notice-mobile-list');
  await item.click();
  await phone.getByTestId('notice-detail-title').filter({ hasText: '核酸检测安排' }).waitFor();
  const body = phone.getByTestId('notice-body');
  assert.equal(await body.locator('strong').textContent(), '明早八点');
  assert.match(await body.textContent(), /<script>alert\(1\)<\/script>/); // shown as text, never run
  // the attachment, read through the notice's route by its recipient
  const img = phone.getByTestId('notice-attachment-img');
  await img.waitFor();
  await phone.waitForFunction((el) => el.complete && el.naturalWidth === 1, await img.elementHandle());
  await shot(phone, 'notice-mobile-detail');
  await phone.goto(ctx.url + '/mobile/#/notices');
  await phone.getByTestId('notice-item').filter({ hasText: '核酸检测安排' }).getByText('已读').waitFor();

  // the console's drawer, pushed: the row turns 已读 with the counts, the
  // list's counts follow, and the receipts were read exactly twice (on
  // opening, on the event) over the whole journey: no poll, no reload
  await drawer.getByTestId('receipts-list').locator('tr', { hasText: '1号楼' }).getByText('已读').waitFor({ timeout: 4000 });
  assert.equal((await drawer.getByTestId('receipts-read').textContent()).replace(/\D/g, ''), '1');
  assert.equal((await row.getByTestId('notice-row-read').textContent()).trim(), '1 / 1');
  assert.equal(receiptReads.length, 2, `receipts read ${receiptReads.length} times`);
  assert.equal(await page.evaluate(() => window.__noReload), true);
  await shot(page, 'notice-receipts-read');
  assertClean(page);
  assertClean(phone);
});

test('a poll answered on the phone shows in the results; the news carousel on the home', async () => {
  // the body shows an image the author uploaded (docs/community.md "Images in a body")
  const img = await comm.post('/api/v1/attachments', Buffer.from(PNG, 'base64'), { 'content-type': 'image/png' });
  assert.equal(img.status, 201, img.text);
  const news = await comm.post('/api/v1/articles', { region_code: COMMUNITY, kind: 'news', title: '社区菜市场周末开放', body: `<p>周六、周日<strong>开放</strong></p><img src="/api/v1/attachments/${img.body.id}" alt="市场">`, published: true });
  assert.equal(news.status, 201, news.text);

  const page = await sharedConsolePage(browser, ctx, '/polls', comm);
  await page.getByTestId('poll-new').click();
  const dialog = page.getByTestId('poll-dialog');
  await dialog.waitFor();
  await dialog.getByTestId('poll-region').click();
  await page.getByTestId(`region-${COMMUNITY}`).filter({ visible: true }).click();
  await dialog.getByTestId('poll-title').fill('菜市场开放时间征求意见');
  await dialog.getByTestId('poll-q0-text').fill('您希望几点开门');
  await dialog.getByTestId('poll-q0-o0').fill('七点');
  await dialog.getByTestId('poll-q0-o1').fill('八点');
  await dialog.getByTestId('poll-save').click();
  await closed(dialog, page);
  const row = page.getByTestId('poll-list').locator('tr', { hasText: '菜市场开放时间征求意见' });
  await row.waitFor();
  assert.equal((await row.getByTestId('poll-row-answered').textContent()).trim(), '0 / 1');

  const phone = await openPage(browser, { mobile: true });
  await adoptSession(phone, resident);
  await phone.goto(ctx.url + '/mobile/#/me');
  await phone.getByTestId('my-news-item').filter({ hasText: '社区菜市场周末开放' }).first().waitFor();
  assert.equal((await phone.getByTestId('my-polls-todo').textContent()).trim(), '1');
  await shot(phone, 'poll-mobile-home');
  await phone.getByTestId('my-polls').click();
  const item = phone.getByTestId('poll-item').filter({ hasText: '菜市场开放时间征求意见' });
  await item.getByTestId('poll-todo').waitFor();
  await item.click();
  await phone.getByTestId('poll-q0-o1').click();
  await phone.getByTestId('poll-submit').click();
  await phone.getByTestId('poll-answered').waitFor();
  assert.equal((await phone.getByTestId('poll-result-q0-o1').textContent()).replace(/\s/g, ''), '八点1票');
  await shot(phone, 'poll-mobile-results');
  // the news article opens from the list by kind, its body sanitised HTML
  await phone.goto(ctx.url + '/mobile/#/articles?kind=news');
  await phone.getByTestId('article-item').filter({ hasText: '社区菜市场周末开放' }).click();
  assert.equal(await phone.getByTestId('article-body').locator('strong').textContent(), '开放');
  const loaded = (img) => img.evaluate((el) => el.complete ? el.naturalWidth : new Promise((ok) => { el.onload = el.onerror = () => ok(el.naturalWidth); }));
  assert.ok(await loaded(phone.getByTestId('article-body').locator('img')) > 0, 'the body image loads on the phone');

  await row.getByTestId('poll-results').click();
  const drawer = page.getByTestId('poll-results-drawer');
  assert.equal((await drawer.getByTestId('poll-count-q0-o1').textContent()).trim(), '1 票');
  assert.equal((await drawer.getByTestId('poll-count-q0-o0').textContent()).trim(), '0 票');
  assert.equal((await drawer.getByTestId('poll-answered').textContent()).trim(), '1');
  await drawer.getByTestId('poll-buildings').locator('tr', { hasText: '1号楼' }).waitFor();
  await shot(page, 'poll-results');

  // the console's articles page lists the news; its editor shows the
  // sanitised body; saved back as a draft, the residents no longer see it
  await page.goto(`${ctx.url}/console/#/articles`);
  const arow = page.getByTestId('article-list').locator('tr', { hasText: '社区菜市场周末开放' });
  assert.equal((await arow.getByTestId('article-row-state').textContent()).trim(), '已发布');
  await arow.getByTestId('article-edit').click();
  const adialog = page.getByTestId('article-dialog');
  assert.equal(await adialog.getByTestId('article-body').locator('strong').textContent(), '开放');
  assert.ok(await loaded(adialog.getByTestId('article-body').locator('img')) > 0, 'the body image loads in the editor');
  // a second image through the editor's own button
  await adialog.getByTestId('article-image-file').setInputFiles({ name: 'b.png', mimeType: 'image/png', buffer: Buffer.from(PNG, 'base64') });
  await adialog.getByTestId('article-body').locator('img').nth(1).waitFor();
  await adialog.getByTestId('article-published').click();
  await adialog.getByTestId('article-save').click();
  await closed(adialog, page);
  await arow.getByTestId('article-row-state').filter({ hasText: '草稿' }).waitFor();
  assert.equal((await resident.get('/api/v1/me/articles?kind=news')).body.total, 0);
  const saved = await comm.get(`/api/v1/articles/${news.body.id}`);
  assert.equal((saved.body.body.match(new RegExp(`src="/api/v1/articles/${news.body.id}/images/\\d+"`, 'g')) || []).length, 2, saved.body.body);
  assertClean(page);
  assertClean(phone);
});
