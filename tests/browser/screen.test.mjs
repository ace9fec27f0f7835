// The one-map big screen (一张图, docs/map.md) on the demo city, in Chromium at
// 1920×1080: it opens on the district's map with the key figures the API
// gives, every layer switched on shows as many points as its layer reply,
// a click on a testing site on the map opens its card with the queue, two
// clicks drill down to a street and a community (the breadcrumb goes back),
// and an incident report filed through the API moves today's reports on
// the screen without a reload. With FK_SHOTS, the screenshot is docs/screenshots/screen.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fs from 'node:fs';
import { startServer, launch, openPage, adoptSession, assertClean, shot, CITY_CSV, writeTmp } from './lib.mjs';

const PW = 'Demo-Screen-2026!';
const LAYERS = ['controlled', 'isolated', 'venues', 'nat_sites', 'quarantine_sites', 'medical', 'zones', 'cameras'];
let ctx, browser, cc, grid;

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      const r = c.fk(['demo', '--persons', '300', '--seed', '7', '--password', PW]);
      if (r.status !== 0) throw new Error(r.stderr);
    },
  });
  cc = ctx.client();
  await cc.login('command', PW);
  grid = ctx.client();
  await grid.login('grid', PW);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

async function ok(c, p) {
  const r = await c.get(p);
  assert.equal(r.status, 200, `${p}: ${r.text}`);
  return r.body;
}

const figure = (page, m) => page.locator(`[data-test="figure-${m}"]`);

test('the big screen: layers, a card, drill-down twice and back, live without reload', async () => {
  const page = await openPage(browser, { viewport: { width: 1920, height: 1080 } });
  await adoptSession(page, cc);
  await page.goto(`${ctx.url}/console/#/screen`);
  await figure(page, 'person.registered').waitFor();
  assert.match(await page.locator('h1').innerText(), /南山区疫情防控一张图/);
  const sum = await ok(cc, '/api/v1/stats/summary?measures=person.registered,person.status.observation,case.incident.new');
  const byName = Object.fromEntries(sum.items.map((f) => [f.measure, f]));
  assert.equal(await figure(page, 'person.registered').locator('[data-test=figure-value]').innerText(), String(byName['person.registered'].value));
  assert.equal(await figure(page, 'person.status.observation').locator('[data-test=figure-value]').innerText(), String(byName['person.status.observation'].value));

  // the streets on the map and in the ranking, by name
  const district = await ok(cc, '/api/v1/map/regions?measure=person.status.observation');
  assert.equal(district.features.length, 8);
  assert.ok(district.features.every((f) => f.geometry?.type === 'Polygon'), 'the demo draws every street');
  await page.locator('[data-test=child-row]').first().waitFor();
  assert.equal(await page.locator('[data-test=child-row]').count(), 8);
  const ranking = await page.locator('[data-test=child-row] .name').allInnerTexts();
  assert.deepEqual([...ranking].sort(), district.features.map((f) => f.properties.name).sort());

  // every layer on: each switch shows the count of its layer reply
  for (const l of LAYERS) {
    await page.locator(`[data-test=layer-${l}]`).click();
    const fc = await ok(cc, `/api/v1/map/layers/${l}`);
    await page.locator(`[data-test=layer-${l}]`, { hasText: `（${fc.features.length}）` }).waitFor();
    assert.ok(fc.features.length > 0, `${l} has points in the demo`);
  }
  const canvas = page.locator('[data-test=screen-map] canvas').first();
  const box = await canvas.boundingBox();
  assert.ok(box.width > 800 && box.height > 700, JSON.stringify(box));

  // a click on a testing site opens its card with the live queue
  const sites = await ok(cc, '/api/v1/map/layers/nat_sites');
  const site = sites.features[0];
  const [x, y] = await page.locator('[data-test=screen-map]').evaluate((el, c) => el.fkChart.convertToPixel({ geoIndex: 0 }, c), site.geometry.coordinates);
  await page.mouse.click(box.x + x, box.y + y);
  const card = page.locator('[data-test=screen-card]');
  await card.waitFor();
  assert.match(await card.innerText(), new RegExp(site.properties.name.replace(/[()（）]/g, '.')));
  assert.match(await card.innerText(), new RegExp(`排队人数\\s*${site.properties.queue_length}`));
  await page.locator('[data-test=card-close]').click();

  // drill down twice: a street, then one of its communities
  const street = district.features[0].properties;
  await page.locator('[data-test=child-row]', { hasText: street.name }).click();
  await page.locator('[data-test=crumb-here]', { hasText: street.name }).waitFor();
  const streetFc = await ok(cc, `/api/v1/map/regions?region=${street.region_code}`);
  const community = streetFc.features[0].properties;
  await page.locator('[data-test=child-row]', { hasText: community.name }).first().click();
  await page.locator('[data-test=crumb-here]', { hasText: community.name }).waitFor();
  assert.deepEqual(await page.locator('[data-test=screen-path] .crumb').allInnerTexts(), ['南山区', street.name, community.name]);
  // the figures are the community's now, the layers too
  const c = await ok(cc, `/api/v1/stats/summary?measures=person.registered&within=${community.region_code}`);
  await page.locator('[data-test="figure-person.registered"] [data-test=figure-value]', { hasText: new RegExp(`^${c.items[0].value}$`) }).waitFor();
  const camsHere = await ok(cc, `/api/v1/map/layers/cameras?region=${community.region_code}`);
  await page.locator('[data-test=layer-cameras]', { hasText: `（${camsHere.features.length}）` }).waitFor();
  await shot(page, 'screen-community');
  // back to the district by the breadcrumb
  await page.locator('[data-test=crumb]', { hasText: '南山区' }).click();
  await page.locator('[data-test=crumb-here]', { hasText: '南山区' }).waitFor();
  await page.locator('[data-test=child-row]').nth(7).waitFor();

  // live: a report filed through the API moves today's reports, no reload
  await page.evaluate(() => (window.__sameDocument = true));
  const todayOf = async () => Number(await figure(page, 'case.incident.new').locator('[data-test=figure-today]').innerText());
  const before = await todayOf();
  assert.equal(before, byName['case.incident.new'].today);
  const people = await ok(grid, '/api/v1/persons?page_size=1');
  const r = await grid.post('/api/v1/reports', { source: 'canvass', category: 'contact', person_id: people.items[0].id });
  assert.equal(r.status, 201, r.text);
  await figure(page, 'case.incident.new').locator('[data-test=figure-today]', { hasText: new RegExp(`^${before + 1}$`) }).waitFor({ timeout: 8000 });
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'updated in place, not reloaded');
  assert.match(await page.locator('[data-test=screen-live]').innerText(), /实时/);

  // with FK_SHOTS, the screenshot for the docs: the district with every
  // layer on, once the refetched points have grown in (ECharts animates them)
  if (process.env.FK_SHOTS) {
    await page.waitForTimeout(1500);
    const file = path.resolve('docs/screenshots/screen.png');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await page.screenshot({ path: file });
    await shot(page, 'screen-district');
  }
  assertClean(page);
});

test('scaled to fit: a smaller window shows the whole stage', async () => {
  const page = await openPage(browser, { viewport: { width: 1280, height: 720 } });
  await adoptSession(page, cc);
  await page.goto(`${ctx.url}/console/#/screen`);
  await figure(page, 'person.registered').waitFor();
  const stage = await page.locator('.stage').boundingBox();
  assert.ok(Math.abs(stage.width - 1280) < 2 && Math.abs(stage.height - 720) < 2, JSON.stringify(stage));
  // the menu of the console leads here
  await page.goto(`${ctx.url}/console/#/home`);
  await page.locator('.el-menu-item', { hasText: '一张图大屏' }).click();
  await page.locator('[data-test=screen]').waitFor();
  assertClean(page);
});

test('regions without boundaries: the screen lists the children in a table', async () => {
  const plain = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'plain_cc', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
    },
  });
  try {
    const client = plain.client();
    await client.login('plain_cc', PW);
    const page = await openPage(browser, { viewport: { width: 1920, height: 1080 } });
    await adoptSession(page, client);
    await page.goto(`${plain.url}/console/#/screen`);
    const table = page.locator('[data-test=screen-no-shapes]');
    await table.waitFor();
    assert.match(await table.innerText(), /东华门街道\s+0/);
    assert.match(await table.innerText(), /景山街道\s+0/);
    // the layers still answer (nothing to draw)
    await page.locator('[data-test=layer-cameras]').click();
    await page.locator('[data-test=layer-cameras]', { hasText: '（0）' }).waitFor();
    assertClean(page);
  } finally {
    await plain.stop();
  }
});
