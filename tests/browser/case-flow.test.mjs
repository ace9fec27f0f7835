// The whole case flow of issue 9 in Chromium, on one server, each step done
// by the person who does it, through the pages (docs/cases.md, docs/tasks.md):
//
//  1. a resident (张热心) signs in by SMS and reports a neighbour (李邻居, a
//     registered resident of 1号楼) with symptoms, a temperature and a photo;
//  2. the routing gives 第一网格's grid worker an urgent 入户核实 task; he signs
//     in on his phone, accepts it and finds 情况属实: the neighbour is matched
//     to the registry by id number and put under 居家医学观察;
//  3. the neighbour's health code (我的健康码, and the console's 健康码 tab) is
//     read after each step; the default rules (docs/health-code.md) give:
//       registered, reported, not yet verified ........ 绿码 (a report alone
//                                                         changes nothing)
//       under observation (status 隔离观察, isolation) .. 红码
//       a doctor's check with a fever ................. 红码 (a check is not a
//                                                         temperature reading)
//       疑似, 确诊 ...................................... 红码 (case statuses;
//                                                         确诊 ends the observation)
//       治愈 ............................................ 绿码 (no rule holds)
//       居家隔离 again after discharge (patrol report) .. 红码
//       released with a certificate ..................... 绿码
//  4. the community doctor records a check with 38.6 ℃ on his phone: the
//     alert 体征异常 arrives live on the command centre's alert page;
//  5. the command centre changes the status 隔离观察 → 疑似 → 确诊 → 治愈 in the
//     person page's 疫情处置 tab;
//  6. after discharge the grid worker's patrol report (巡查上报) puts the
//     neighbour under home isolation again, and the command centre ends it on
//     the observation page with a certificate; the neighbour opens 解除隔离
//     通知书 and its PDF link answers a PDF;
//  7. checkpoint staff scan the certificate's QR with the phone camera
//     (Chromium's fake capture device playing the QR taken from the
//     resident's page) and read 真实有效; after a revoke the same QR reads 已作废.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { selectors } from 'playwright-core';
import { startServer, launch, openPage, assertClean, shot, smsCode, residentId, CITY_CSV, writeTmp, sleep } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Case-flow-2026!';
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const NEIGHBOUR = { name: '李邻居', phone: '13930006002', id: residentId('110101', '19700303', 81), address: '多福巷12号院3单元501' };
const REPORTER = { name: '张热心', phone: '13930006001', id: residentId('110101', '19850505', 83), address: '多福巷10号' };
const TO_BUILDING = ['市辖区', '东城区', '东华门街道', '多福巷社区', '第一网格', '1号楼'];
const TO_COMMUNITY = ['市辖区', '东城区', '东华门街道', '多福巷社区'];
let ctx, browser;

before(async () => {
  ctx = await startServer({
    // no sweep may put a task or an alert of its own in the way
    env: { FK_RELEASE_CHECK: '0', FK_CHECK_SWEEP: '0' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      const add = (u, role, region, name) => c.must(['user', 'add', '--username', u, '--password', PW, '--role', role, '--region', region, '--name', name]);
      add('flow_cc', 'command_center', '110101000000', '陈指挥');
      add('flow_grid', 'grid_worker', '110101001001001', '王网格'); // 第一网格
      add('flow_grid2', 'grid_worker', '110101002001', '周网格'); // 隆福寺社区
      add('flow_doctor', 'doctor', '110101001001', '刘医生');
      add('flow_gate', 'checkpoint_staff', '110101001001', '赵卡口');
    },
  });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.getByTestId(name);
const input = (page, name) => page.locator(`[data-test=${name}] input, [data-test=${name}] textarea`);

async function waitCode(phone) {
  for (let i = 0; i < 100; i++) {
    const c = smsCode(ctx, phone);
    if (c) return c;
    await sleep(50);
  }
  throw new Error(`no SMS code for ${phone}`);
}

// The region picker of the mobile forms, down `trail` from the top of the
// user's scope, then confirmed on the last name.
async function pickRegion(page, trail) {
  await field(page, 'region-field').click();
  for (const name of trail) await field(page, 'region-option').filter({ hasText: name }).click();
  await field(page, 'region-confirm').filter({ hasText: `选择：${trail[trail.length - 1]}` }).click();
  await field(page, 'region-popup').waitFor({ state: 'hidden' });
}

// A resident's first visit: SMS sign-in, consent, registration.
async function residentSignsUp(who, trail) {
  const page = await openPage(browser, { mobile: true });
  await page.goto(ctx.url + '/mobile/');
  await input(page, 'sms-phone').fill(who.phone);
  await field(page, 'sms-send').click();
  await input(page, 'sms-code').fill(await waitCode(who.phone));
  await field(page, 'sms-login').click();
  await page.waitForURL(/#\/consent$/);
  await field(page, 'consent-agree').click();
  await page.waitForURL(/#\/register$/);
  await input(page, 'f-name').fill(who.name);
  await input(page, 'f-id_number').fill(who.id);
  await pickRegion(page, trail);
  await input(page, 'f-address').fill(who.address);
  await field(page, 'register-submit').click();
  await page.waitForURL(/#\/me$/);
  return page;
}

async function staffSignsIn(b, username) {
  const page = await openPage(b, { mobile: true });
  await page.goto(ctx.url + '/mobile/');
  await field(page, 'tab-staff').click();
  await input(page, 'staff-username').fill(username);
  await input(page, 'staff-password').fill(PW);
  await field(page, 'staff-login').click();
  await page.waitForURL(/#\/staff$/);
  return page;
}

// 我的健康码 as the resident opens it: the card's colour and its label.
async function myCode(page, colour, label) {
  // the page reads the code when it opens
  if (/#\/code$/.test(page.url())) await page.reload();
  else await page.goto(ctx.url + '/mobile/#/code');
  await page.locator(`[data-test=code-card][data-colour=${colour}]`).waitFor();
  assert.equal(await field(page, 'code-label').innerText(), label);
}

// The console person page's 健康码 tab: the colour, and the newest line of
// 赋码记录 with it.
async function consoleCode(page, label) {
  await page.getByRole('tab', { name: '健康码' }).click();
  await field(page, 'person-code-colour').filter({ hasText: label }).waitFor();
  await page.getByTestId('records-code-history').locator('tbody tr').first().filter({ hasText: label }).waitFor();
}

// 变更状态 on the 疫情处置 tab, to `to` (its label), with what else it asks.
async function changeStatus(page, from, to, reason, extra = async () => {}) {
  await page.getByRole('tab', { name: '疫情处置' }).click();
  await field(page, 'case-status').filter({ hasText: from }).waitFor();
  await field(page, 'case-status-change').click();
  await field(page, 'case-status-to').click();
  await page.getByRole('option', { name: to, exact: true }).filter({ visible: true }).click();
  await extra();
  await field(page, 'case-status-reason').fill(reason);
  await field(page, 'case-status-submit').click();
  await field(page, 'case-status').filter({ hasText: to }).waitFor();
  await field(page, 'case-status-changes').getByTestId('case-change').filter({ hasText: `${from} → ${to}` }).waitFor();
}

// A Y4M video (I420) of `svg` centred on white, for Chromium's
// --use-file-for-fake-video-capture: the QR a staff phone's camera sees.
async function y4mOf(page, svg, file, W = 320, H = 240) {
  const rgba = await page.evaluate(async ({ text, W, H }) => {
    const img = new Image();
    img.src = 'data:image/svg+xml;base64,' + btoa(text);
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
  }, { text: svg, W, H });
  const y = Buffer.alloc(W * H);
  for (let i = 0; i < W * H; i++) y[i] = Math.round(16 + (65.481 * rgba[i * 4] + 128.553 * rgba[i * 4 + 1] + 24.966 * rgba[i * 4 + 2]) / 255);
  const chroma = Buffer.alloc((W / 2) * (H / 2), 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, chroma, chroma]);
  fs.writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\n`), ...Array(10).fill(frame)]));
}

test('report → verification → observation → fever check → suspected → confirmed → cured → release certificate → QR verified', async () => {
  // 0. the neighbour is a resident of 1号楼 with the app (signing up on
  // their phone while the reporter does on theirs): green to begin with
  const [neighbour, reporter] = await Promise.all([residentSignsUp(NEIGHBOUR, TO_BUILDING), residentSignsUp(REPORTER, TO_COMMUNITY)]);
  await myCode(neighbour, 'green', '绿码');
  await shot(neighbour, 'flow-0-neighbour-green');

  // 1. the reporter reports the neighbour, with a photo
  await field(reporter, 'my-report-new').click();
  await reporter.waitForURL(/#\/report$/);
  await field(reporter, 'r-about-other').click();
  await input(reporter, 'r-name').fill(NEIGHBOUR.name);
  await input(reporter, 'r-phone').fill(NEIGHBOUR.phone);
  await pickRegion(reporter, TO_BUILDING);
  await input(reporter, 'r-address').fill(NEIGHBOUR.address);
  await field(reporter, 'r-category-symptoms').click();
  await field(reporter, 'r-symptom-fever').click();
  await field(reporter, 'r-symptom-cough').click();
  await input(reporter, 'r-temperature').fill('38.2');
  await input(reporter, 'r-description').fill('邻居连续两天咳嗽，夜间发热');
  await reporter.locator('[data-test=r-photos] input[type=file]').setInputFiles({ name: 'door.png', mimeType: 'image/png', buffer: PNG });
  await reporter.locator('[data-test=r-photos] .van-uploader__preview').waitFor();
  await reporter.waitForFunction(() => !document.querySelector('[data-test=r-photos] .van-uploader__mask'));
  await field(reporter, 'r-submit').click();
  await field(reporter, 'r-done').filter({ hasText: '核实中' }).waitFor();
  await reporter.locator('[data-test=r-done] .van-dialog__confirm').click();
  await reporter.waitForURL(/#\/my-reports\/\d+$/);
  await field(reporter, 'report-state').filter({ hasText: '核实中' }).waitFor();
  await field(reporter, 'report-photo').waitFor();
  await shot(reporter, 'flow-1-reported');
  // nobody is isolated on a report alone
  await myCode(neighbour, 'green', '绿码');

  // 2. the grid worker of 第一网格: an urgent 入户核实 (a fever was reported)
  const grid = await staffSignsIn(browser, 'flow_grid');
  await field(grid, 'entry-home-verification').click();
  await grid.waitForURL(/#\/staff\/tasks$/);
  const task = field(grid, 'task-item').filter({ hasText: '入户核实' });
  await task.waitFor();
  assert.equal(await task.getByTestId('task-priority').innerText(), '紧急');
  // routed to the grid of the reported address: another community's grid worker has nothing
  const other = ctx.client();
  await other.login('flow_grid2', PW);
  assert.deepEqual((await other.get('/api/v1/me/tasks')).body.items, []);
  assert.match(await task.getByTestId('task-address').innerText(), /^多福巷/);
  assert.ok(!(await task.innerText()).includes(NEIGHBOUR.address), 'the address masked');
  await task.getByTestId('task-accept').click();
  await task.getByTestId('task-complete').click();
  const form = field(grid, 'verify-popup');
  await form.getByTestId('v-outcome-confirmed').click();
  await input(form, 'v-name').fill(NEIGHBOUR.name);
  await input(form, 'v-id_number').fill(NEIGHBOUR.id);
  await form.getByTestId('v-kind-home_observation').click();
  await shot(grid, 'flow-2-verify');
  await form.getByTestId('v-submit').click();
  await form.waitFor({ state: 'hidden' });
  await grid.waitForFunction(() => ![...document.querySelectorAll('[data-test=task-item]')].some((e) => e.innerText.includes('入户核实')));
  // on the observation list, masked, under home medical observation
  await grid.goto(ctx.url + '/mobile/#/staff/observations');
  const listed = field(grid, 'obs-item').filter({ hasText: '李*居' });
  await listed.waitFor();
  assert.match(await listed.innerText(), /居家医学观察 · 1号楼 · 隔离观察/);
  assert.match(await listed.getByTestId('obs-days').innerText(), /剩余 1[34] 天/);
  await shot(grid, 'flow-2-observation-list');
  assertClean(grid);
  // the reporter follows the outcome
  await reporter.reload();
  await field(reporter, 'report-state').filter({ hasText: '已纳入观察' }).waitFor();
  assertClean(reporter);
  // the neighbour's code: red, with the observation as the reason
  await myCode(neighbour, 'red', '红码');
  assert.match(await field(neighbour, 'code-reasons').innerText(), /隔离/);
  await shot(neighbour, 'flow-2-neighbour-red');

  // 4. the command centre's alert page is open on the console before the doctor's visit
  const desk = await openPage(browser);
  await desk.goto(ctx.url + '/console/#/alerts');
  await desk.getByTestId('login-username').fill('flow_cc');
  await desk.getByTestId('login-password').fill(PW);
  await desk.getByTestId('login-submit').click();
  await desk.waitForURL(/#\/alerts$/);
  await desk.getByTestId('alert-table').waitFor();
  assert.equal(await desk.getByTestId('alert-table').locator('tr', { hasText: '体征异常' }).count(), 0);

  // the community doctor checks the neighbour: 38.6 ℃ with a fever
  const doctor = await staffSignsIn(browser, 'flow_doctor');
  await field(doctor, 'entry-observation').click();
  await doctor.waitForURL(/#\/staff\/observations$/);
  await field(doctor, 'obs-item').filter({ hasText: '李*居' }).click();
  await doctor.waitForURL(/#\/staff\/observations\/\d+$/);
  await field(doctor, 'obs-check').click();
  await doctor.waitForURL(/#\/staff\/check\?observation=\d+$/);
  await input(doctor, 'c-temperature').fill('38.6');
  await field(doctor, 'c-symptom-fever').click();
  await input(doctor, 'c-description').fill('入户测温，发热伴咳嗽');
  await field(doctor, 'c-submit').click();
  await doctor.waitForURL(/#\/staff\/observations\/\d+$/);
  await field(doctor, 'obs-timeline-item').filter({ hasText: '体征核查' }).first().waitFor();
  await shot(doctor, 'flow-4-doctor-check');
  assertClean(doctor);

  // the alert arrives live (no reload) with the badge
  const alertRow = desk.getByTestId('alert-table').locator('tr', { hasText: '体征异常' });
  await alertRow.waitFor();
  assert.match(await alertRow.innerText(), /严重/);
  await desk.locator('[data-test=alert-badge] sup', { hasText: /^[1-9]/ }).waitFor();
  await shot(desk, 'flow-4-console-alert');
  await myCode(neighbour, 'red', '红码');

  // 5. the command centre: from the observation list to the person's page
  await desk.goto(ctx.url + '/console/#/observations');
  const row = desk.getByTestId('obs-table').locator('tbody tr', { hasText: '李*居' });
  await row.getByTestId('obs-cell-name').click();
  await desk.getByTestId('obs-person-link').click();
  await desk.waitForURL(/#\/people\/\d+$/);
  const personId = desk.url().match(/people\/(\d+)$/)[1];
  await consoleCode(desk, '红码');
  await changeStatus(desk, '隔离观察', '疑似', '体温38.6℃，咳嗽，待核酸结果');
  await myCode(neighbour, 'red', '红码');
  await changeStatus(desk, '疑似', '确诊', '核酸检测阳性', async () => {
    await desk.getByTestId('case-severity-mild').click();
    await desk.getByTestId('case-status-route').click();
    await desk.getByRole('option', { name: '本地感染', exact: true }).filter({ visible: true }).click();
  });
  // confirmed: treated elsewhere, the home observation ended
  await field(desk, 'case-observation-state').filter({ hasText: '已结束' }).waitFor();
  await myCode(neighbour, 'red', '红码');
  await changeStatus(desk, '确诊', '治愈', '治愈出院');
  await shot(desk, 'flow-5-cured');
  await consoleCode(desk, '绿码');
  await myCode(neighbour, 'green', '绿码');

  // 6. after discharge: home isolation again, from the grid worker's patrol report
  await grid.goto(ctx.url + '/mobile/#/staff');
  await field(grid, 'entry-report').click();
  await grid.waitForURL(/#\/staff\/report$/);
  await input(grid, 'r-name').fill(NEIGHBOUR.name);
  await input(grid, 'r-id_number').fill(NEIGHBOUR.id);
  await pickRegion(grid, ['1号楼']);
  await input(grid, 'r-address').fill(NEIGHBOUR.address);
  await field(grid, 'r-category-other').click();
  await input(grid, 'r-description').fill('治愈出院，居家隔离观察');
  await field(grid, 'r-submit').click();
  await field(grid, 'r-done').filter({ hasText: '已纳入观察' }).waitFor();
  assertClean(grid);
  await myCode(neighbour, 'red', '红码');

  // the command centre releases it on the observation page, with a certificate
  await desk.reload();
  await desk.getByRole('tab', { name: '疫情处置' }).click();
  await field(desk, 'case-observation-state').filter({ hasText: '观察中' }).waitFor();
  await field(desk, 'case-observation-link').click();
  await desk.waitForURL(/#\/observations\/\d+$/);
  await field(desk, 'obs-end').click();
  await field(desk, 'obs-end-release').click();
  await desk.getByRole('option', { name: '自由', exact: true }).filter({ visible: true }).click();
  await field(desk, 'obs-end-reason').fill('隔离期满，无异常');
  await field(desk, 'obs-end-submit').click();
  await field(desk, 'obs-certificate').waitFor();
  const number = (await field(desk, 'obs-certificate').innerText()).match(/^JC\d{14}/)?.[0];
  assert.ok(number, 'a certificate number');
  assert.equal(await field(desk, 'obs-state').innerText(), '已解除');
  await shot(desk, 'flow-6-released');
  await myCode(neighbour, 'green', '绿码');

  // the neighbour opens 解除隔离通知书; the PDF link answers a PDF
  await neighbour.goto(ctx.url + '/mobile/#/me');
  await field(neighbour, 'my-certificates').click();
  await neighbour.waitForURL(/#\/me\/certificates$/);
  await field(neighbour, 'cert-item').first().click();
  await neighbour.waitForURL(/#\/me\/certificate\/\d+$/);
  assert.equal(await field(neighbour, 'cert-number').innerText(), `编号：${number}`);
  assert.equal(await field(neighbour, 'cert-name').innerText(), NEIGHBOUR.name);
  assert.equal(await field(neighbour, 'cert-unit').innerText(), '发证单位：多福巷社区');
  await neighbour.waitForFunction(() => document.querySelector('[data-test=cert-qr]')?.naturalWidth > 0);
  const pdf = await neighbour.evaluate(async (href) => {
    const r = await fetch(href);
    const head = new TextDecoder().decode((await r.arrayBuffer()).slice(0, 5));
    return { status: r.status, type: r.headers.get('content-type'), head };
  }, await field(neighbour, 'cert-pdf').getAttribute('href'));
  assert.deepEqual(pdf, { status: 200, type: 'application/pdf', head: '%PDF-' });
  await shot(neighbour, 'flow-6-certificate');

  // 7. checkpoint staff scan the certificate's QR (what the neighbour's page shows)
  const svg = await neighbour.evaluate(async (src) => (await fetch(src)).text(), await field(neighbour, 'cert-qr').getAttribute('src'));
  const video = path.join(ctx.dir, 'certificate.y4m');
  await y4mOf(neighbour, svg, video);
  assertClean(neighbour);
  const camera = await launch({ args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`] });
  try {
    const gate = await staffSignsIn(camera, 'flow_gate');
    await field(gate, 'entry-cert-verify').click();
    await gate.waitForURL(/#\/staff\/certificates\/verify$/);
    await field(gate, 'cert-verdict').filter({ hasText: '解除隔离通知书真实有效' }).waitFor({ timeout: 20000 });
    assert.equal(await field(gate, 'cert-verdict-name').locator('.van-cell__value').innerText(), '李*居');
    assert.equal(await field(gate, 'cert-verdict-unit').locator('.van-cell__value').innerText(), '多福巷社区');
    await shot(gate, 'flow-7-verify-valid');

    // revoked (no page offers it: the API, as the command centre)
    const cc = ctx.client();
    await cc.login('flow_cc', PW);
    const cert = (await cc.get(`/api/v1/persons/${personId}/certificates`)).body.items.find((c) => c.number === number);
    const r = await cc.post(`/api/v1/certificates/${cert.id}/revoke`, { reason: '信息有误，重新出具' });
    assert.equal(r.status, 200, r.text);
    await gate.locator('.van-nav-bar__left').click(); // 继续核验: the camera again
    await field(gate, 'cert-verdict').filter({ hasText: '已作废' }).waitFor({ timeout: 20000 });
    await shot(gate, 'flow-7-verify-revoked');
    assertClean(gate);
  } finally {
    await camera.close();
  }
  // and the neighbour's page says so
  await neighbour.reload();
  await field(neighbour, 'cert-revoked').waitFor();
  assertClean(neighbour);

  // the person's 处置时间线 on the console tells the whole story, in words
  await desk.getByTestId('obs-person-link').click();
  await desk.getByRole('tab', { name: '疫情处置' }).click();
  await field(desk, 'case-timeline-action').filter({ hasText: '作废' }).first().waitFor();
  const steps = (await field(desk, 'case-timeline-action').allInnerTexts()).reverse(); // oldest first
  for (const s of steps) assert.match(s, /^[\u4e00-\u9fff（）]+$/, `a step named in Chinese: ${steps.join(', ')}`);
  const story = ['匹配到已登记人员', '纳入隔离观察', '体征核查', '状态变更', '状态变更', '状态变更', '纳入隔离观察', '解除隔离', '出具解除隔离通知书', '解除隔离通知书作废'];
  let at = 0;
  for (const s of steps) if (s === story[at]) at++;
  assert.equal(at, story.length, `the timeline holds ${story.join(' → ')} in order: ${steps.join(', ')}`);
  await shot(desk, 'flow-8-timeline');

  // and the resident's report in the console's inbox: report → task → verification → observation
  await desk.goto(ctx.url + '/console/#/incidents');
  const report = desk.getByTestId('incident-table').locator('tbody tr', { hasText: '市民上报' });
  assert.equal(await report.getByTestId('cell-name').innerText(), '李*居');
  assert.equal(await report.getByTestId('cell-attachments').innerText(), '1');
  await report.getByTestId('incident-open').click();
  const drawer = desk.getByTestId('incident-drawer');
  await drawer.getByTestId('incident-photo').waitFor();
  await desk.waitForFunction(() => document.querySelector('[data-test="incident-photo"]')?.naturalWidth === 1);
  const lines = await drawer.getByTestId('timeline-action').allInnerTexts();
  const told = ['事件上报', '事件分派', '派发任务', '入户核实', '匹配到已登记人员', '纳入隔离观察'];
  at = 0;
  for (const s of lines) if (s === told[at]) at++;
  assert.equal(at, told.length, `the report's timeline holds ${told.join(' → ')} in order: ${lines.join(', ')}`);
  assert.match(await drawer.getByTestId('incident-task-state').innerText(), /已完成/);
  assert.equal(await drawer.getByTestId('incident-state').innerText(), '已纳入观察');
  await shot(desk, 'flow-8-incident');
  assertClean(desk);
});
