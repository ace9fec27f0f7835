// The console's access pages in Chromium: the health-code rule editor
// (reorder, colour, parameters kept to the server's ranges, a save that
// recomputes everyone with a progress bar), and venues (a policy
// refused beside its field, created, its code shown and its poster opened).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, openPage, assertClean, shot, CITY_CSV, writeTmp, residentId } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!access';
const COMMUNITY = '110101001001';
let ctx, browser, place;

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'ac_cc', '--password', PW, '--role', 'command_center', '--region', '110101000000', '--name', '指挥中心']);
    },
  });
  const cc = ctx.client();
  await cc.login('ac_cc', PW);
  for (let i = 0; i < 3; i++) {
    const r = await cc.post('/api/v1/persons', { name: `居民${i}`, id_number: residentId('110101', '19900101', 40 + i * 2), region_code: COMMUNITY });
    assert.equal(r.status, 201, r.text);
  }
  const r = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  place = r.body;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

async function signIn(path) {
  const page = await openPage(browser);
  await page.goto(ctx.url + '/console/#/' + path);
  await page.getByTestId('login-username').fill('ac_cc');
  await page.getByTestId('login-password').fill(PW);
  await page.getByTestId('login-submit').click();
  await page.waitForURL(new RegExp(`#/${path}$`));
  return page;
}

test('the rule editor reorders, recolours and edits parameters, then saves and shows the recompute progress', async () => {
  const page = await signIn('code-rules');
  const texts = page.getByTestId('rule-text');
  await texts.first().waitFor();
  const before = await texts.allInnerTexts();
  assert.ok(before.length >= 10, 'the built-in rules');

  // the fever rule's window: the box keeps to the server's range (1-720 h)
  const hours = page.locator('[data-test=rule-fever-hours] input');
  await hours.fill('721');
  await hours.blur();
  assert.equal(await hours.inputValue(), '720');

  // move the second rule up and make the fever rule red
  await page.getByTestId('rule-up-1').click();
  assert.deepEqual((await texts.allInnerTexts()).slice(0, 2), [before[1], before[0]]);
  await page.getByTestId('rule-colour-fever').click();
  await page.getByRole('option', { name: '红码', exact: true }).filter({ visible: true }).click();
  await shot(page, 'console-code-rules-edited');

  // a dry run first says how many codes would change and asks; cancelled, nothing is saved
  await page.getByTestId('rule-save').click();
  const box = page.locator('.rule-dry-run');
  await box.waitFor();
  const said = await box.locator('.el-message-box__message').innerText();
  const dry = await page.evaluate(() => fetch('/api/v1/code-rules').then((r) => r.json()));
  assert.equal(dry.rules.find((r) => r.key === 'fever').colour, 'yellow', 'not saved before confirming');
  assert.match(said, /^(将有 \d+ 人的健康码发生变化（.+→.+ \d+ 人.*）。|没有人的健康码颜色会发生变化。)确认保存规则并重新赋码？$/);
  await shot(page, 'console-code-rules-dry-run');
  await box.getByRole('button', { name: '取消' }).click();
  await box.waitFor({ state: 'hidden' });
  assert.equal((await page.evaluate(() => fetch('/api/v1/code-rules').then((r) => r.json()))).rules.find((r) => r.key === 'fever').colour, 'yellow');
  await page.getByTestId('rule-save').click();
  await box.getByRole('button', { name: '确认' }).click();
  await page.getByTestId('job-progress').filter({ hasText: '重新赋码完成' }).waitFor();
  assert.match(await page.getByTestId('job-status').innerText(), /共 3 人/);
  await shot(page, 'console-code-rules-saved');

  const saved = (await page.evaluate(() => fetch('/api/v1/code-rules').then((r) => r.json()))).rules;
  assert.equal(saved.find((r) => r.key === 'fever').colour, 'red');
  assert.equal(saved.find((r) => r.key === 'fever').params.hours, 720);
  assert.equal(saved[0].key, 'isolation_status');
  assertClean(page);
});

test('a venue is created with its policy, its code shown and its poster opened to print', async () => {
  const page = await signIn('venues');
  await page.getByTestId('venue-new').click();
  // no name: the server's message beside the name
  await page.getByTestId('venue-kind').click();
  await page.getByRole('option', { name: '小区出入口', exact: true }).filter({ visible: true }).click();
  await page.getByTestId('venue-place').click();
  await page.getByRole('option', { name: place.name, exact: true }).filter({ visible: true }).click();
  await page.getByTestId('venue-save').click();
  await page.getByTestId('venue-form').locator('.el-form-item__error').first().waitFor();
  await shot(page, 'console-venue-error');

  await page.getByTestId('venue-name').fill('多福巷小区东门');
  await page.getByTestId('venue-colours').getByText('黄码').click();
  await page.getByTestId('venue-save').click();
  const row = page.getByTestId('venue-table').locator('tr', { hasText: '多福巷小区东门' });
  await row.waitFor();
  assert.match(await row.innerText(), /绿码\s*黄码/);
  await shot(page, 'console-venues');

  await row.getByTestId('venue-code').click();
  const img = page.getByTestId('venue-code-img');
  await img.waitFor();
  await page.waitForFunction(() => document.querySelector('[data-test=venue-code-img]')?.naturalWidth > 0);
  await page.getByTestId('venue-code-dialog').filter({ hasText: '第 1 版' }).waitFor();
  await shot(page, 'console-venue-code');

  // printed in green: the preview, the download and the poster follow the choice
  await page.getByTestId('venue-code-ink').getByText('绿色').click();
  await page.waitForFunction(() => {
    const i = document.querySelector('[data-test=venue-code-img]');
    return i?.src.includes('colour=green') && i.complete && i.naturalWidth > 0;
  });
  assert.match(await page.getByTestId('venue-code-download').getAttribute('href'), /colour=green/);
  const [poster] = await Promise.all([page.context().waitForEvent('page'), page.getByTestId('venue-poster').click()]);
  await poster.waitForLoadState();
  assert.match(await poster.content(), /多福巷小区东门/);
  assert.match(await poster.content(), /<path fill="#0b6e3a"/i, "the code itself in green ink");
  await poster.close();

  await page.getByTestId('venue-regenerate').click();
  await page.locator('.el-popconfirm').getByRole('button', { name: '确定' }).filter({ visible: true }).click();
  await page.getByTestId('venue-code-dialog').filter({ hasText: '第 2 版' }).waitFor();
  await shot(page, 'console-venue-regenerated');
  assertClean(page);
});
