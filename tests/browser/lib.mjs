// Browser test harness: Debian's Chromium driven by playwright-core against
// a real `fangkong serve` (tests/api/lib.mjs starts it). Every page records
// console errors, failed requests and server errors; `assertClean` fails a
// test that had any, and `shot` saves what the user saw under one folder per
// run, printed at the start.
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export { startServer, residentId, smsCode, CITY_CSV, writeTmp, totp, totpSecretFrom, sleep } from '../api/lib.mjs';

// Debian's old headless shell (chromium-headless-shell, the same Chromium
// without the full browser's UI layers, what Playwright itself runs headless)
// when installed, else the full browser in its new headless mode. The suite
// is bound by Chromium's CPU: the shell took 20-40 % less for the same files
// (scripts/test-cost.sh browser). FK_CHROMIUM picks another.
const SHELL = '/usr/bin/chromium-headless-shell';
const CHROMIUM = process.env.FK_CHROMIUM || (fs.existsSync(SHELL) ? SHELL : '/usr/bin/chromium');
// Screenshots for people to look at, only when asked (FK_SHOTS=DIR): a
// full-page one costs Chromium about 0.4 s of CPU, and the suite, which is
// CPU-bound, takes some 290 of them.
const SHOTS = process.env.FK_SHOTS ? path.resolve(process.env.FK_SHOTS) : null;
if (SHOTS) {
  fs.mkdirSync(SHOTS, { recursive: true });
  console.log(`# screenshots: ${SHOTS}`);
}

// opts.args: more Chromium switches (e.g. a fake camera). Playwright passes
// the background-work switches already (--disable-background-networking,
// -extensions, -component-update, -default-apps, --mute-audio,
// --no-first-run, translate and optimization guides off); --disable-gpu,
// --js-flags=--no-opt or --max-lazy and one raster thread changed nothing
// measurable (docs/benchmarks.md): a page's CPU is its own rendering.
export async function launch(opts = {}) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--lang=zh-CN', ...(opts.args || [])],
  });
}

// Give a page the session of an API client (tests/api/lib.mjs Client), so
// a test can prepare a user through the API and continue in the browser.
export async function adoptSession(page, client) {
  const [name, value] = client.cookie.split('=');
  await page.context().addCookies([{ name, value, url: client.base }]);
}

// A console page at a route (`#/path`), signed in as an API client's session.
export async function consolePage(browser, ctx, route, client) {
  const page = await openPage(browser);
  await adoptSession(page, client);
  await page.goto(`${ctx.url}/console/#${route}`);
  return page;
}

// consolePage, but one page per browser and client, loaded once: a later
// call shows `route` on that page through its router, by way of the home
// page (so the view mounts and reads its data anew), then waits for the
// network to fall idle. For files whose tests each opened the console as the
// same user: a page load with its context costs Chromium 2-4 CPU s. The
// page's problems accumulate, so assertClean covers the earlier tests too.
const shared = new WeakMap();
export async function sharedConsolePage(browser, ctx, route, client) {
  let pages = shared.get(browser);
  if (!pages) shared.set(browser, (pages = new Map()));
  const page = pages.get(client);
  if (!page || page.isClosed()) {
    const fresh = await consolePage(browser, ctx, route, client);
    pages.set(client, fresh);
    return fresh;
  }
  await visit(page, '/home', '/account');
  await visit(page, route);
  await networkIdle(page);
  return page;
}

// Pick an option of an Element Plus select by its label.
export async function choose(page, testId, label) {
  await page.getByTestId(testId).click();
  await page.getByRole('option', { name: label, exact: true }).filter({ visible: true }).click();
}

function noMotion() {
  const add = () => {
    const s = document.createElement('style');
    s.textContent = '*,*::before,*::after{transition:none!important;animation:none!important}';
    document.documentElement.appendChild(s);
  };
  if (document.documentElement) add();
  else document.addEventListener('readystatechange', add, { once: true });
}

// A page in its own browser context (own cookies). opts.mobile: phone-sized;
// opts.viewport: another size ({ width, height }).
export async function openPage(browser, opts = {}) {
  const context = await browser.newContext({
    viewport: opts.viewport || (opts.mobile ? { width: 390, height: 844 } : { width: 1440, height: 900 }),
    deviceScaleFactor: 1,
    isMobile: Boolean(opts.mobile),
    hasTouch: Boolean(opts.mobile),
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  // No CSS transitions or animations (FK_ANIM=1 keeps them): the suite is
  // bound by Chromium's CPU, every fade paints frames, and a list still fading
  // out while the next one opens was a race (two of the same option shown).
  if (process.env.FK_ANIM !== '1') await context.addInitScript(noMotion);
  const page = await context.newPage();
  const problems = [];
  // requests in flight, for networkIdle() (a redirect ends its request
  // with the next one's start, not with requestfinished; an event stream,
  // the alerts', never ends)
  page.inflight = new Set();
  page.on('request', (req) => {
    if (req.resourceType() !== 'eventsource') page.inflight.add(req);
    if (req.redirectedFrom()) page.inflight.delete(req.redirectedFrom());
  });
  page.on('requestfinished', (req) => page.inflight.delete(req));
  page.on('requestfailed', (req) => page.inflight.delete(req));
  // 4xx answers from the API are the application telling the user what went
  // wrong (the tests assert the message shown); Chromium logs each as a
  // console error "Failed to load resource", which is therefore expected.
  let expected4xx = 0;
  page.on('response', (res) => {
    const u = new URL(res.url());
    const s = res.status();
    if (s >= 500) problems.push(`server error ${s} ${res.request().method()} ${u.pathname}`);
    else if (s >= 400 && u.pathname.startsWith('/api/')) expected4xx++;
    else if (s >= 400) problems.push(`${s} ${u.pathname}`);
  });
  page.on('requestfailed', (req) => {
    // a navigation away aborts what the old page was loading: not a fault
    if (req.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed ${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
  });
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const t = msg.text();
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(t) && expected4xx > 0) {
      expected4xx--;
      return;
    }
    problems.push(`console error: ${t}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.problems = problems;
  return page;
}

// Wait for a dialog to close after its save; when it stays open, fail with
// what it shows (the field errors, the form's message) and the page's
// problems, not a bare timeout.
export async function closed(dialog, page) {
  try {
    await dialog.waitFor({ state: 'hidden' });
  } catch (e) {
    const shown = await dialog.innerText().catch(() => '(unreadable)');
    throw new Error(`the dialog stayed open, showing:\n${shown}\nproblems: ${JSON.stringify(page.problems)}\n${e.message}`);
  }
}

export function assertClean(page) {
  assert.deepEqual(page.problems, [], 'no console errors, failed requests or server errors');
}

let shotN = 0;
// The file written, or null when screenshots are off.
export async function shot(page, name) {
  if (!SHOTS) return null;
  const file = path.join(SHOTS, `${String(++shotN).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// A Y4M video (YUV4MPEG2, I420) of a PNG centred on white, for Chromium's
// --use-file-for-fake-video-capture (a fake camera showing a QR code: pass
// the file to launch({ args }) with the fake-media switches). The PNG is
// decoded by drawing it on a canvas in `page`.
export async function y4mOf(page, png, file, W = 640, H = 480) {
  const rgba = await page.evaluate(async ({ b64, W, H }) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = W;
    c.height = H;
    const g = c.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, W, H);
    const s = Math.min(W, H) - 40;
    g.imageSmoothingEnabled = false;
    g.drawImage(img, (W - s) / 2, (H - s) / 2, s, s);
    return Array.from(g.getImageData(0, 0, W, H).data);
  }, { b64: Buffer.from(png).toString('base64'), W, H });
  const y = Buffer.alloc(W * H);
  for (let i = 0; i < W * H; i++) {
    const [r, g, b] = [rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]];
    y[i] = Math.round(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
  }
  const chroma = Buffer.alloc((W / 2) * (H / 2), 128); // grey: the luminance is what a decoder reads
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, chroma, chroma]);
  fs.writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\n`), ...Array(10).fill(frame)]));
}

// Show `route` in an app page already loaded (console or phone) through
// its router, without a page load (a load of either app costs seconds on a
// busy machine). When the route is shown already, go by way of `via`
// first, so its view mounts anew and reads its data again (what a reload
// did). Resolves once the router has settled on the route.
export async function visit(page, route, via) {
  await page.evaluate(async ([to, by]) => {
    const router = document.querySelector('[data-v-app]').__vue_app__.config.globalProperties.$router;
    if (router.currentRoute.value.fullPath === to) await router.push(by);
    await router.push(to);
  }, [route, via]);
}

// Resolve once `page` has had no request in flight for `quietMs`: what
// goto's waitUntil 'networkidle' waits for after a page load, for a page
// whose view changed through its router (visit) instead.
export async function networkIdle(page, quietMs = 500, timeoutMs = 30000) {
  const start = Date.now();
  for (let since = start; Date.now() - since < quietMs; ) {
    if (page.inflight.size > 0) since = Date.now();
    if (Date.now() - start > timeoutMs) {
      throw new Error(`network not idle after ${timeoutMs} ms: ${[...page.inflight].map((r) => `${r.method()} ${r.url()}`).join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

// Pick a region in a RegionTreeSelect by its codes: open the picker
// (`testId`, or none when it is already open), expand each ancestor in the
// visible tree until the next code shows, and click the last. A lazily loaded
// node is clicked only while it is neither open nor loading: clicking blindly
// closed again a node the tree had just opened, and the next code never came.
export async function pickRegion(page, testId, codes) {
  if (testId) await page.getByTestId(testId).click();
  const tree = page.locator('.el-popper').filter({ visible: true }).filter({ has: page.getByRole('treeitem') }).last();
  const label = (code) => tree.getByTestId(`region-${code}`).filter({ visible: true }).first();
  for (let i = 0; i + 1 < codes.length; i++) {
    await label(codes[i]).waitFor();
    // the innermost tree item holding the label (its ancestors hold it too)
    const own = tree.getByRole('treeitem').filter({ has: page.getByTestId(`region-${codes[i]}`) }).last().locator(':scope > .el-tree-node__content');
    for (let tries = 0; !(await label(codes[i + 1]).isVisible()); tries++) {
      if (tries >= 100) throw new Error(`region ${codes[i + 1]} is not shown under ${codes[i]}`);
      const open = /\bexpanded\b/.test((await own.locator('.el-tree-node__expand-icon').getAttribute('class')) ?? '');
      const loading = await own.locator('.el-tree-node__loading-icon').count();
      if (!open && !loading) await own.locator('.el-tree-node__expand-icon').click();
      await page.waitForTimeout(100);
    }
  }
  await label(codes.at(-1)).click();
}
