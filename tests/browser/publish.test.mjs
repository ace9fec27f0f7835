// Publishing in Chromium (docs/publish.md): a command-centre user composes a
// publication in the console (blocks, preview, submit), cannot approve it
// themself, a second user approves it and a feed item; then a phone with no
// session opens /public/ and sees the figures, the map, the trend and the
// news, with the date of the data. With FK_SHOTS, saves docs/screenshots/public.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { selectors } from 'playwright-core';
import { startServer, launch, openPage, consolePage, assertClean, shot, choose, CITY_CSV, writeTmp, residentId } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!publishpages';
const DC = '110101000000'; // 东城区
const BUILDING = '110101001001001001'; // 东华门街道 多福巷社区 1号楼
const OTHER_COMMUNITY = '110101002001'; // 景山街道 隆福寺社区
const square = (lng, lat) => ({ type: 'Polygon', coordinates: [[[lng, lat], [lng + 0.02, lat], [lng + 0.02, lat + 0.02], [lng, lat + 0.02], [lng, lat]]] });
let ctx, browser, author, approver;

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'pb_author', '--password', PW, '--role', 'command_center', '--region', DC, '--name', '发布编辑']);
      c.must(['user', 'add', '--username', 'pb_approver', '--password', PW, '--role', 'command_center', '--region', DC, '--name', '发布审核']);
    },
  });
  author = ctx.client();
  await author.login('pb_author', PW);
  approver = ctx.client();
  await approver.login('pb_approver', PW);
  // the streets' outlines, so the map is drawn (a table alone without them)
  for (const [code, name, lng] of [['110101001000', '东华门街道', 116.4], ['110101002000', '景山街道', 116.38]]) {
    const r = await author.patch(`/api/v1/regions/${code}`, { name, boundary: square(lng, 39.91) });
    assert.equal(r.status, 200, r.text);
  }
  let seq = 0;
  for (const [region, status] of [[BUILDING, 'confirmed'], [BUILDING, 'confirmed'], [OTHER_COMMUNITY, 'confirmed'], [BUILDING, 'suspected']]) {
    seq += 1;
    const r = await author.post('/api/v1/persons', { name: '发布页', id_number: residentId('110101', '19800101', 600 + seq * 2), region_code: region, status });
    assert.equal(r.status, 201, r.text);
  }
  const feed = await author.post('/api/v1/feed-items/batch', { items: [{ kind: 'news', title: '东城区优化核酸检测点位', link: 'https://example.gov.cn/n/1', source: '东城发布', published_at: '2026-12-04 09:00' }] });
  assert.equal(feed.status, 200, feed.text);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

test('compose, preview and submit in the console; the submitter cannot approve; a second user approves', async () => {
  const page = await consolePage(browser, ctx, '/publish', author);
  await page.getByTestId('pub-new').click();
  await page.getByTestId('pub-new-title').fill('东城区疫情速报');
  await page.getByTestId('pub-new-save').click();
  // the editor, with the overview template's blocks
  await page.getByTestId('pub-block-figures').waitFor();
  await page.getByTestId('pub-block-text-input').fill('全区疫情总体平稳。\n\n请居民配合做好防控。');
  await choose(page, 'pub-add-kind', '疫情地图');
  await page.getByTestId('pub-add').click();
  await choose(page, 'pub-add-kind', '趋势');
  await page.getByTestId('pub-add').click();
  await page.getByTestId('pub-block-map').waitFor();
  await page.getByTestId('pub-preview-btn').click();
  const preview = page.getByTestId('pub-preview');
  await preview.getByText('全区疫情总体平稳。').waitFor();
  // the preview counts the district's three confirmed and draws the map
  assert.match(await preview.locator('.fig', { hasText: '确诊' }).locator('b').textContent(), /^3$/);
  assert.equal(await preview.locator('svg.map path').count(), 2);
  await shot(page, 'publish-editor');
  await page.getByTestId('pub-submit').click();
  await page.getByTestId('pub-editor-state').getByText('待审核').waitFor();

  // the author is an approver too, but not of their own submission
  await page.goto(`${ctx.url}/console/#/publish`);
  const row = page.getByTestId('pub-table').locator('tr', { hasText: '东城区疫情速报' });
  await row.getByTestId('pub-review').click();
  await page.getByTestId('pub-approve').click();
  await page.getByText('不能审核自己提交的发布内容').waitFor();
  assert.equal(await row.getByTestId('pub-row-state').textContent(), '待审核');
  assertClean(page);

  // a second person approves it, and the feed item
  const page2 = await consolePage(browser, ctx, '/publish', approver);
  const row2 = page2.getByTestId('pub-table').locator('tr', { hasText: '东城区疫情速报' });
  await row2.getByTestId('pub-review').click();
  await page2.getByTestId('pub-preview').getByText('全区疫情总体平稳。').waitFor();
  await page2.getByTestId('pub-approve').click();
  await row2.getByTestId('pub-row-state').getByText('已发布').waitFor();
  assert.equal(await row2.getByTestId('pub-live').textContent(), '第 1 版');
  await page2.goto(`${ctx.url}/console/#/publish/feed`);
  const feedRow = page2.getByTestId('feed-table').locator('tr', { hasText: '东城区优化核酸检测点位' });
  await feedRow.getByTestId('feed-approve').click();
  await page2.getByText('已通过，公众页面可见').waitFor();
  assertClean(page2);
});

test('a phone without a session opens /public/ and sees the figures, map, trend and news', async () => {
  const page = await openPage(browser, { mobile: true });
  const res = await page.goto(`${ctx.url}/public/`);
  assert.equal(res.status(), 200);
  const article = page.locator('article', { hasText: '东城区疫情速报' });
  await article.waitFor();
  assert.equal(await article.locator('.fig', { hasText: '确诊' }).locator('b').textContent(), '3');
  assert.equal(await article.locator('.fig', { hasText: '疑似' }).locator('b').textContent(), '1');
  assert.match(await article.locator('.meta').textContent(), /东城区 · 数据截至 \d{4}-\d{2}-\d{2}/);
  assert.equal(await article.locator('svg.map path').count(), 2);
  assert.ok((await article.locator('figure.trend svg rect').count()) >= 7);
  await page.getByText('东城区优化核酸检测点位').waitFor();
  // nothing the page holds asks for more: no script, no other origin
  assert.equal(await page.locator('script').count(), 0);
  // phone-sized: nothing wider than the screen
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 390, `page is ${wide}px wide`);
  const file = await shot(page, 'public');
  if (file) {
    fs.mkdirSync('docs/screenshots', { recursive: true });
    fs.copyFileSync(file, path.join('docs/screenshots', 'public.png'));
  }
  assertClean(page);
});

test('versions, withdraw and an RSS upload from the console; the public page follows', async () => {
  const page = await consolePage(browser, ctx, '/publish', approver);
  const row = page.getByTestId('pub-table').locator('tr', { hasText: '东城区疫情速报' });
  await row.getByTestId('pub-versions').click();
  const list = page.getByTestId('pub-version-list');
  await list.getByText('第 1 版').waitFor();
  await list.getByText('公众可见').waitFor();
  await page.keyboard.press('Escape');
  await row.getByTestId('pub-withdraw').click();
  await page.getByRole('button', { name: '确定' }).or(page.getByRole('button', { name: 'OK' })).click();
  await row.getByTestId('pub-live').getByText('—').waitFor();
  // the public page has nothing of it any more
  let pub = await (await fetch(`${ctx.url}/public/`)).text();
  assert.ok(!pub.includes('东城区疫情速报'));
  assert.match(pub, /暂无发布内容/);
  // nothing of it public any more: it may be deleted from the list
  await row.getByTestId('pub-delete').click();
  await page.getByRole('button', { name: '确定' }).or(page.getByRole('button', { name: 'OK' })).click();
  await page.getByText('已删除').waitFor();
  await row.waitFor({ state: 'detached' });

  // an RSS file uploaded as 舆情, approved, on the public page
  await page.goto(`${ctx.url}/console/#/publish/feed`);
  await choose(page, 'feed-kind', '舆情');
  const rss = '<?xml version="1.0"?><rss version="2.0"><channel><item><title>市民关注物资配送</title>' +
    '<link>https://example.com/o/9</link><description>已回应</description></item></channel></rss>';
  await page.getByTestId('feed-file').setInputFiles({ name: 'opinion.xml', mimeType: 'application/xml', buffer: Buffer.from(rss) });
  await page.getByText('新增 1 条').waitFor();
  const feedRow = page.getByTestId('feed-table').locator('tr', { hasText: '市民关注物资配送' });
  await feedRow.getByTestId('feed-approve').click();
  await page.getByText('已通过，公众页面可见').waitFor();
  pub = await (await fetch(`${ctx.url}/public/`)).text();
  assert.match(pub, /<section class="feed-opinion"><h2>舆情信息<\/h2>.*市民关注物资配送/s);
  assertClean(page);
});
