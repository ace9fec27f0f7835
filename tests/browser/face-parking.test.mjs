// Face access and parking guidance in Chromium (docs/face.md,
// docs/parking.md): a resident reads the consent on the phone, agrees and
// enrols a photo; community staff see the enrolment in the console with
// the face terminal's state (下发中: no broker in this test, so the command
// waits for the terminal); the resident's 停车引导 page shows the garage's
// free spaces, which a plate read at its gate moves.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { launch, openPage, consolePage, adoptSession, assertClean, shot } from './lib.mjs';
import { startCity, resident, COMMUNITY } from '../api/devlib.mjs';

selectors.setTestIdAttribute('data-test');

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
let ctx, browser, me, phone;

before(async () => {
  ctx = await startCity();
  const r = await ctx.cc.post('/api/v1/devices', { name: '东门人脸终端', kind: 'face', venue_id: ctx.venue.id });
  assert.equal(r.status, 201, r.text);
  me = await resident(ctx, COMMUNITY, '吴桐');
  browser = await launch();
  phone = await openPage(browser, { mobile: true });
  await adoptSession(phone, me);
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

test('a resident consents and enrols a photo on the phone; staff see the terminal pending', async () => {
  await phone.goto(ctx.url + '/mobile/#/me');
  await phone.getByTestId('my-face').click();
  await phone.getByTestId('face-consent-text').getByText('撤回授权').waitFor();
  assert.ok(await phone.getByTestId('face-consent').isDisabled(), 'no consent before the box is ticked');
  await phone.getByTestId('face-agree').click();
  await phone.getByTestId('face-consent').click();
  await phone.getByTestId('face-state-label').getByText('已授权待录入').waitFor();
  await phone.getByTestId('face-photo').locator('input[type=file]').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: PNG });
  await phone.getByTestId('face-enrol').click(); // waits until the upload enabled it
  await phone.getByTestId('face-state-label').getByText('已录入').waitFor();
  assert.match(await phone.getByTestId('face-terminals').textContent(), /1 台下发中/);
  await shot(phone, 'face-enrolled');
  assertClean(phone);

  const page = await consolePage(browser, ctx, '/face', ctx.grid);
  const row = page.getByTestId('face-table').locator('tr', { hasText: '吴*' });
  await row.waitFor();
  assert.equal((await row.getByTestId('face-row-state').textContent()).trim(), '已录入');
  await row.click();
  const drawer = page.getByTestId('face-detail');
  await drawer.getByTestId('face-terminals').getByText('东门人脸终端').waitFor();
  assert.equal((await drawer.getByTestId('face-terminal-state').textContent()).trim(), '下发中');
  await shot(page, 'face-console');
  assertClean(page);
  await page.context().close();
});

test("the garage's free spaces on the resident's page follow the plate reads", async () => {
  const g = await ctx.cc.post('/api/v1/parking/garages', {
    name: '多福巷地下车库', region_code: COMMUNITY, total: 10, reserved: 2, gates: [{ venue_id: ctx.venue.id, direction: 'both' }],
  });
  assert.equal(g.status, 201, g.text);
  await phone.goto(ctx.url + '/mobile/#/me');
  await phone.getByTestId('my-parking').click();
  const row = phone.getByTestId('parking-row').filter({ hasText: '多福巷地下车库' });
  await row.getByText('空余 8').waitFor();
  const plate = '京A' + String(10000 + Math.floor(Math.random() * 89999));
  assert.equal((await me.post('/api/v1/me/vehicles', { plate, kind: 'car' })).status, 201);
  const r = await ctx.camera.post('/api/v1/vehicle-reads', { venue_id: ctx.venue.id, plate, direction: 'in' });
  assert.equal(r.status, 200, r.text);
  await phone.reload();
  await row.getByText('空余 7').waitFor();
  await shot(phone, 'parking-resident');
  assertClean(phone);

  const page = await consolePage(browser, ctx, '/parking', ctx.cc);
  const grow = page.getByTestId('garage-table').locator('tr', { hasText: '多福巷地下车库' });
  assert.equal((await grow.getByTestId('garage-free').textContent()).trim(), '7');
  await grow.click();
  await page.getByTestId('garage-cars').getByText(plate.slice(0, 2) + '***' + plate.slice(-2)).waitFor();
  assertClean(page);
});
