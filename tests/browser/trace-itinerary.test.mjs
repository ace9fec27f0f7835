// The 14-day itinerary card on the phone (docs/tracing.md "The 14-day
// itinerary"): a resident with a 5-hour stay in 东华门街道 (a high-risk area
// since yesterday) and a trip to 上海市 opens 我的行程卡 from 我的信息 and
// sees an orange card with 上海市，市辖区* and a QR that loads; a grid worker
// opens 行程卡核验 on the workbench, pastes the code shown under the card
// and reads the card valid with the same cities; a tampered code reads 无效;
// a checkpoint phone's camera (Chromium's fake capture device playing the
// QR the resident's page shows) reads the same card.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launch, openPage, consolePage, assertClean, shot, adoptSession, residentId, smsCode, y4mOf } from './lib.mjs';
import { startCityWith, sqlRun } from '../api/lib.mjs';

const PW = 'Itinerary-pages-2026!';
const COMMUNITY = '110101001001';
const H = 3600e3, DAY = 24 * H;
let ctx, browser, grid, res, pid;

before(async () => {
  ctx = await startCityWith({ grid_dc: ['grid_worker', COMMUNITY], cc_dc: ['command_center', '110101000000'], gate_dc: ['checkpoint_staff', '110101000000'] }, PW);
  const { cc_dc: cc } = ctx.as;
  grid = ctx.as.grid_dc;
  res = ctx.client();
  const phone = '13930006543';
  await res.post('/api/v1/auth/sms/send', { phone });
  let r = await res.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r.status, 200, r.text);
  await res.post('/api/v1/me/consent', { version: 'v1' });
  r = await res.post('/api/v1/me/person', { name: '赵行程', id_number: residentId('110101', '19900909', 91), region_code: COMMUNITY, address: '多福巷7号' });
  assert.equal(r.status, 201, r.text);
  pid = r.body.person.id;
  r = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  r = await cc.post('/api/v1/venues', { name: '多福巷超市', kind: 'community_gate', place_id: r.body.id });
  assert.equal(r.status, 201, r.text);
  const venue = r.body.id;
  // yesterday (China time) 09:00-14:00 at the venue: a stay of five hours
  const y = Math.floor((Date.now() + 8 * H) / DAY) * DAY - 8 * H - DAY;
  let id = 9200000000000;
  for (const [dir, at] of [['in', y + 9 * H], ['out', y + 14 * H]])
    sqlRun(ctx, `INSERT INTO access_records (id, venue_id, region_code, person_id, direction, at, colour, verdict, method, created_at)
                 VALUES (${++id}, ${venue}, ${COMMUNITY.padEnd(18, '0')}, ${pid}, '${dir}', ${at}, 'green', 'pass', 'staff_scan', ${at})`);
  const date = (ms) => new Date(ms + 8 * H).toISOString().slice(0, 10);
  r = await cc.post('/api/v1/trips', { person_id: pid, departed_on: date(y - 4 * DAY), returned_on: date(y - 2 * DAY), destination: '上海市', out: { mode: 'train', number: 'G1' } });
  assert.equal(r.status, 201, r.text);
  r = await cc.post('/api/v1/risk-areas', { name: '东华门街道', level: 'high', region_code: '110101001000', valid_from: y });
  assert.equal(r.status, 201, r.text);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);

test('a resident opens their itinerary card and a staff phone verifies it', async () => {
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, res);
  await page.goto(ctx.url + '/mobile/#/me');
  await field(page, 'my-itinerary').click();
  await page.waitForURL(/#\/me\/itinerary$/);
  await field(page, 'itin-card').waitFor();
  assert.equal(await field(page, 'itin-card').getAttribute('data-colour'), 'orange');
  assert.equal(await field(page, 'itin-name').innerText(), '赵*程的行程卡');
  assert.equal(await field(page, 'itin-cities').innerText(), '上海市，市辖区*');
  assert.match(await field(page, 'itin-updated').innerText(), /^更新于：\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}:\d{2}$/);
  await page.waitForFunction(() => document.querySelector('[data-test=itin-qr]')?.naturalWidth > 0);
  const token = (await field(page, 'itin-token').innerText()).trim();
  assert.match(token, /^FK1\./);
  await shot(page, 'mobile-itinerary-card');
  assertClean(page);

  const staff = await openPage(browser, { mobile: true });
  await adoptSession(staff, grid);
  await staff.goto(ctx.url + '/mobile/#/staff');
  await field(staff, 'entry-itinerary-verify').click();
  await staff.waitForURL(/#\/staff\/itinerary\/verify$/);
  await staff.locator('[data-test=itin-token-input] textarea').fill(token);
  await field(staff, 'itin-submit').click();
  await field(staff, 'itin-verdict').filter({ hasText: '行程卡有效' }).waitFor();
  assert.equal(await field(staff, 'pass-screen').getAttribute('data-colour'), 'yellow', 'a marked city: the warning colour');
  assert.equal(await field(staff, 'itin-verdict-name').locator('.van-cell__value').innerText(), '赵*程');
  assert.equal(await field(staff, 'itin-verdict-cities').locator('.van-cell__label').innerText(), '上海市，市辖区*');
  await shot(staff, 'mobile-itinerary-verify-valid');

  // a code with its last character changed: forged
  await staff.locator('.van-nav-bar__left').click(); // 继续核验
  const forged = token.slice(0, -1) + (token.at(-1) === 'A' ? 'B' : 'A');
  await staff.locator('[data-test=itin-token-input] textarea').fill(forged);
  await field(staff, 'itin-submit').click();
  await field(staff, 'itin-verdict').filter({ hasText: '疑似伪造' }).waitFor();
  assert.equal(await field(staff, 'pass-title').innerText(), '无效');
  await shot(staff, 'mobile-itinerary-verify-forged');
  assertClean(staff);
});

test('a checkpoint phone scans the card\'s QR with its camera', async () => {
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, res);
  await page.goto(ctx.url + '/mobile/#/me/itinerary');
  await page.waitForFunction(() => document.querySelector('[data-test=itin-qr]')?.naturalWidth > 0);
  // the QR as the page draws it, on white, as a PNG the fake camera plays
  const b64 = await page.evaluate(() => {
    const img = document.querySelector('[data-test=itin-qr]');
    const c = document.createElement('canvas');
    c.width = c.height = 400;
    const g = c.getContext('2d');
    g.fillStyle = '#fff';
    g.fillRect(0, 0, 400, 400);
    g.imageSmoothingEnabled = false;
    g.drawImage(img, 0, 0, 400, 400);
    return c.toDataURL('image/png').split(',')[1];
  });
  const video = path.join(ctx.dir, 'itinerary.y4m');
  await y4mOf(page, Buffer.from(b64, 'base64'), video);
  assertClean(page);
  const camera = await launch({ args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`] });
  try {
    const gate = await openPage(camera, { mobile: true });
    await adoptSession(gate, ctx.as.gate_dc);
    await gate.goto(ctx.url + '/mobile/#/staff');
    await field(gate, 'entry-itinerary-verify').click();
    await gate.waitForURL(/#\/staff\/itinerary\/verify$/);
    await field(gate, 'itin-verdict').filter({ hasText: '行程卡有效' }).waitFor({ timeout: 20000 });
    assert.equal(await field(gate, 'itin-verdict-name').locator('.van-cell__value').innerText(), '赵*程');
    assert.equal(await field(gate, 'itin-verdict-cities').locator('.van-cell__label').innerText(), '上海市，市辖区*');
    await shot(gate, 'mobile-itinerary-verify-camera');
  } finally {
    await camera.close();
  }
});

test('the console shows staff the same itinerary on the person page', async () => {
  const page = await consolePage(browser, ctx, `/people/${pid}`, ctx.as.cc_dc);
  await page.locator('.el-tabs__item', { hasText: '14天行程' }).click();
  await field(page, 'itinerary-stays').waitFor();
  await page.locator('[data-test=itinerary-stays] .el-table__row').first().waitFor();
  const cities = await field(page, 'itinerary-city').allInnerTexts();
  assert.deepEqual(cities.map((c) => c.trim().split(/\s|\*/)[0]), ['上海市', '市辖区']);
  assert.match(cities[1], /\*（东华门街道）/, 'the own city carries the mark of the high-risk street');
  const stays = await page.locator('[data-test=itinerary-stays] .el-table__row').allInnerTexts();
  assert.ok(stays.some((r) => r.includes('东华门街道') && r.includes('5 小时') && r.includes('通行记录')), stays.join('\n'));
  await shot(page, 'console-person-itinerary');
  assertClean(page);
});
