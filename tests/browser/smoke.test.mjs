// Both front ends load in Chromium from fangkong alone: no console errors,
// no failed requests, nothing fetched from another origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, assertClean, shot } from './lib.mjs';

let ctx, browser;
before(async () => {
  ctx = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

for (const [name, p, mobile] of [['console', '/console/', false], ['mobile', '/mobile/', true]]) {
  test(`the ${name} page loads from the server alone`, async () => {
    const page = await openPage(browser, { mobile });
    const foreign = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(ctx.url) && !req.url().startsWith('data:')) foreign.push(req.url());
    });
    await page.goto(ctx.url + p, { waitUntil: 'networkidle' });
    assert.match(await page.title(), /多级防控平台/);
    await page.locator('#app > *').first().waitFor();
    await shot(page, `smoke-${name}`);
    assert.deepEqual(foreign, [], 'nothing from other origins');
    assertClean(page);
  });
}
