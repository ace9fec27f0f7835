// Face access and parking guidance in Chromium (docs/face.md,
// docs/parking.md): a resident reads the consent on the phone, agrees and
// enrols a photo; community staff see the enrolment in the console with
// the face terminal's state (下发中: no broker in this test, so the command
// waits for the terminal), then failed after the last resend, and 重新下发
// brings it back to 下发中 and on to 已持有 when the terminal answers; the
// resident's 停车引导 page shows the garage's free spaces, which a plate
// read at its gate moves. One server, one browser, three page loads (the
// resident's phone, the community staff's console, the command centre's
// console): later steps navigate inside them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { launch, openPage, consolePage, adoptSession, assertClean, shot, visit } from './lib.mjs';
import { startCity, resident, COMMUNITY } from '../api/devlib.mjs';
import { sqlRun } from '../api/lib.mjs';
import { until } from '../api/facelib.mjs';

selectors.setTestIdAttribute('data-test');

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
let ctx, browser, me, phone, desk;

before(async () => {
  // the face sweep every second (no broker here: nothing is ever sent, so
  // nothing fails unless a test says a command was sent its last time)
  // the server and Chromium start side by side
  [ctx, browser] = await Promise.all([startCity({ env: { FK_FACE_SWEEP: '1', FK_FACE_RESEND_S: '1' } }), launch()]);
  const r = await ctx.cc.post('/api/v1/devices', { name: '东门人脸终端', kind: 'face', venue_id: ctx.venue.id });
  assert.equal(r.status, 201, r.text);
  me = await resident(ctx, COMMUNITY, '吴桐');
  phone = await openPage(browser, { mobile: true });
  await adoptSession(phone, me);
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

test('a resident consents and enrols a photo on the phone; staff see the terminal pending', async () => {
  // the staff's console loads while the resident works on the phone
  const deskLoading = consolePage(browser, ctx, '/face', ctx.grid);
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

  desk = await deskLoading;
  const row = desk.getByTestId('face-table').locator('tr', { hasText: '吴*' });
  await visit(desk, '/face', '/home'); // the list read anew, after the enrolment
  await row.waitFor();
  assert.equal((await row.getByTestId('face-row-state').textContent()).trim(), '已录入');
  await row.click();
  const drawer = desk.getByTestId('face-detail');
  await drawer.getByTestId('face-terminals').getByText('东门人脸终端').waitFor();
  assert.equal((await drawer.getByTestId('face-terminal-state').textContent()).trim(), '下发中');
  await shot(desk, 'face-console');
  await desk.keyboard.press('Escape');
  await drawer.waitFor({ state: 'hidden' });
  assertClean(desk);
});

test('an enrolment whose terminal never acknowledged after the last resend shows as failed; 重新下发 sends it again', async () => {
  // as if the terminal had been sent the photo its 5 times (docs/face.md): the sweep fails it
  sqlRun(ctx, `UPDATE face_commands SET attempts = 5, sent_at = 1 WHERE state = 'pending'`);
  const failed = async () => (await ctx.grid.get('/api/v1/face/enrolments')).body.items.find((x) => x.person_name === '吴*')?.terminals_failed === 1;
  assert.ok(await until(failed), 'the sweep failed the command');
  // the console page of the test before: its 刷新 reads the list again
  const page = desk;
  await page.getByTestId('face-refresh').click();
  const row = page.getByTestId('face-table').locator('tr', { hasText: '吴*' });
  await row.getByTestId('face-row-failed').waitFor();
  assert.equal((await row.getByTestId('face-row-failed').textContent()).trim(), '下发失败');
  assert.match(await row.getByTestId('face-row-terminals').textContent(), /失败 1/);
  await row.click();
  const drawer = page.getByTestId('face-detail');
  await drawer.getByTestId('face-detail-failed').waitFor();
  const state = drawer.getByTestId('face-terminal-state');
  assert.equal((await state.textContent()).trim(), '下发失败');
  await shot(page, 'face-failed');

  // 重新下发: back to 下发中 (no broker here: it waits for the terminal), the row's mark gone
  await drawer.getByTestId('face-detail-retry').click();
  await state.getByText('下发中').waitFor();
  assert.equal(await drawer.getByTestId('face-detail-failed').count(), 0);
  await row.getByTestId('face-row-failed').waitFor({ state: 'detached' });
  const cmd = sqlRun(ctx, `SELECT state, attempts FROM face_commands WHERE op = 'enrol'`).trim();
  assert.equal(cmd, 'pending|0', 'pending again with its attempts reset (the send found no broker)');
  // the terminal answers (as its ack over the device channel would set it): the drawer follows
  sqlRun(ctx, `UPDATE face_commands SET state = 'acked', acked_at = ${Date.now()} WHERE state = 'pending'`);
  await state.getByText('已持有').waitFor();
  await shot(page, 'face-retried');
  assertClean(page);
  await page.context().close();
});

test("the garage's free spaces on the resident's page follow the plate reads", async () => {
  const g = await ctx.cc.post('/api/v1/parking/garages', {
    name: '多福巷地下车库', region_code: COMMUNITY, total: 10, reserved: 2, gates: [{ venue_id: ctx.venue.id, direction: 'both' }],
  });
  assert.equal(g.status, 201, g.text);
  // the command centre's console loads while the resident looks on the phone
  const ccLoading = consolePage(browser, ctx, '/parking', ctx.cc);
  await phone.goto(ctx.url + '/mobile/#/me'); // inside the loaded app: no page load
  await phone.getByTestId('my-parking').click();
  const row = phone.getByTestId('parking-row').filter({ hasText: '多福巷地下车库' });
  await row.getByText('空余 8').waitFor();
  const plate = '京A' + String(10000 + Math.floor(Math.random() * 89999));
  assert.equal((await me.post('/api/v1/me/vehicles', { plate, kind: 'car' })).status, 201);
  const r = await ctx.camera.post('/api/v1/vehicle-reads', { venue_id: ctx.venue.id, plate, direction: 'in' });
  assert.equal(r.status, 200, r.text);
  // back to 我的 and in again: the page reads the garages anew (no page load)
  await phone.goBack();
  await phone.getByTestId('my-parking').click();
  await row.getByText('空余 7').waitFor();
  await shot(phone, 'parking-resident');
  assertClean(phone);

  const page = await ccLoading;
  await visit(page, '/parking', '/home'); // read anew after the plate read
  const grow = page.getByTestId('garage-table').locator('tr', { hasText: '多福巷地下车库' });
  await grow.getByTestId('garage-free').filter({ hasText: '7' }).waitFor();
  assert.equal((await grow.getByTestId('garage-free').textContent()).trim(), '7');
  await grow.click();
  await page.getByTestId('garage-cars').getByText(plate.slice(0, 2) + '***' + plate.slice(-2)).waitFor();

  // staff add the garage's exit as a second gate, then delete the garage
  const exit = await ctx.cc.post('/api/v1/venues', { name: '多福巷车库出口', kind: 'community_gate', place_id: ctx.venue.place_id });
  assert.equal(exit.status, 201, exit.text);
  await page.getByTestId('garage-gates-edit').click();
  await page.getByTestId('garage-gate-add').click();
  await page.getByTestId('garage-gate-row').nth(1).getByTestId('garage-gate-venue').click();
  await page.getByRole('option', { name: '多福巷车库出口', exact: true }).filter({ visible: true }).click();
  await page.getByTestId('garage-gates-save').click();
  await grow.getByText('多福巷车库出口').waitFor();
  assert.equal((await ctx.cc.get(`/api/v1/parking/garages/${g.body.id}`)).body.gates.length, 2);
  await shot(page, 'parking-gates');
  await page.getByTestId('garage-delete').click();
  await page.locator('.el-popconfirm').getByRole('button', { name: '确定' }).filter({ visible: true }).click();
  await grow.waitFor({ state: 'detached' });
  assert.equal((await ctx.cc.get(`/api/v1/parking/garages/${g.body.id}`)).status, 404);
  assertClean(page);
});
