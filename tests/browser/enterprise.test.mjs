// 企业复工 in Chromium (docs/enterprise.md): an enterprise account adds an
// employee (shown masked) and submits a resume-work application on the
// console page; the street's staff return it without reasons (refused under
// the field), with reasons, then approve the resubmission, and the
// enterprise's status in the street's list follows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, consolePage, openPage, adoptSession, assertClean, shot, CITY_CSV, writeTmp, residentId, smsCode } from './lib.mjs';
import { creditCode } from '../api/lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!enterprisepage';
let ctx, browser, cc, ent, street, entId, sun;

before(async () => {
  ctx = await startServer({
    env: { FK_SMS_RESEND: '1' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'ep_cc', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
      c.must(['user', 'add', '--username', 'ep_ent', '--password', PW, '--role', 'enterprise', '--region', '110101001001']);
      c.must(['user', 'add', '--username', 'ep_street', '--password', PW, '--role', 'street_staff', '--region', '110101001000']);
    },
  });
  cc = ctx.client();
  await cc.login('ep_cc', PW);
  ent = ctx.client();
  await ent.login('ep_ent', PW);
  street = ctx.client();
  await street.login('ep_street', PW);
  const e = await cc.post('/api/v1/enterprises', { name: '多福巷服装厂', credit_code: creditCode('91110101MA0000001'), region_code: '110101001001', industry: '制造业' });
  assert.equal(e.status, 201, e.text);
  const me = await ent.get('/api/v1/me');
  const b = await cc.post('/api/v1/enterprise-accounts', { user_id: me.body.id, enterprise_id: e.body.id });
  assert.equal(b.status, 200, b.text);
  entId = e.body.id;
  browser = await launch();
});

// Element Plus puts a field's attributes on its <input> or <textarea>, a
// number or date field's on the wrapper: fill whichever it is.
async function fillIn(loc, value) {
  const tag = await loc.evaluate((e) => e.tagName);
  await (tag === 'INPUT' || tag === 'TEXTAREA' ? loc : loc.locator('input')).fill(value);
}

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

test('the enterprise adds an employee and submits; the street returns, then approves', async () => {
  const page = await consolePage(browser, ctx, '/enterprise/resume', ent);
  // employees: added through the dialog, listed masked
  await page.getByRole('tab', { name: '企业员工' }).click();
  await page.getByTestId('employee-add-open').click();
  const add = page.getByTestId('employee-add-dialog');
  await fillIn(add.getByTestId('employee-name'), '赵大伟');
  await fillIn(add.getByTestId('employee-id-number'), '110101199001011234');
  await add.getByTestId('employee-save').click();
  await add.locator('.el-form-item__error').waitFor(); // a bad check digit: refused under its field
  assert.equal((await ent.get('/api/v1/employees')).body.total, 0);
  await fillIn(add.getByTestId('employee-id-number'), residentId('110101', '19900101', 21));
  await fillIn(add.getByTestId('employee-department'), '裁剪车间');
  await add.getByTestId('employee-save').click();
  const emps = page.getByTestId('employees');
  await emps.locator('tr', { hasText: '裁剪车间' }).waitFor();
  assert.match(await emps.textContent(), /赵\*伟/);
  assert.doesNotMatch(await emps.textContent(), /赵大伟/);

  // the application
  await page.getByRole('tab', { name: '复工申请' }).click();
  await page.getByTestId('resume-submit-open').click();
  const dlg = page.getByTestId('resume-submit-dialog');
  await fillIn(dlg.getByTestId('resume-plan'), '员工每日健康打卡，分批错峰到岗。');
  await fillIn(dlg.getByTestId('resume-date'), '2026-12-20');
  await page.keyboard.press('Enter');
  await fillIn(dlg.getByTestId('resume-staff'), '35');
  await dlg.getByTestId('resume-submit').click();
  const apps = page.getByTestId('resume-apps');
  await apps.getByTestId('resume-status').filter({ hasText: '审核中' }).waitFor();
  await shot(page, 'enterprise-submitted');
  assertClean(page);

  // the street: returns without reasons (refused), with reasons, then approves the resubmission
  const sp = await consolePage(browser, ctx, '/enterprise/resume', street);
  const sapps = sp.getByTestId('resume-apps');
  await sapps.locator('tr', { hasText: '多福巷服装厂' }).getByTestId('resume-return').click();
  const ret = sp.getByTestId('resume-return-dialog');
  await ret.getByTestId('resume-return-confirm').click();
  await ret.locator('.el-form-item__error').waitFor();
  assert.match(await ret.locator('.el-form-item__error').textContent(), /退回理由/);
  await fillIn(ret.getByTestId('resume-reasons'), '请补充食堂分餐安排');
  await ret.getByTestId('resume-return-confirm').click();
  await sapps.getByTestId('resume-status').filter({ hasText: '已退回' }).waitFor();
  await sp.getByRole('tab', { name: '辖区企业复工状态' }).click();
  await sp.getByTestId('resume-enterprises').locator('tr', { hasText: '多福巷服装厂' }).getByText('已退回').waitFor();

  // the enterprise sees the reasons and submits again
  await page.reload();
  await page.getByTestId('resume-apps').getByText('请补充食堂分餐安排').waitFor();
  const again = await ent.post('/api/v1/resume-applications', { plan: '员工每日健康打卡，分批错峰到岗，食堂分餐。', staff_count: 35, resume_date: '2026-12-21' });
  assert.equal(again.status, 201, again.text);

  await sp.reload();
  await sp.getByRole('tab', { name: '复工申请' }).click();
  await sp.getByTestId('resume-apps').locator('tr', { hasText: '食堂分餐。' }).getByTestId('resume-approve').click();
  await sp.getByTestId('resume-apps').getByTestId('resume-status').filter({ hasText: '已复工' }).waitFor();
  await sp.getByRole('tab', { name: '辖区企业复工状态' }).click();
  await sp.getByTestId('resume-enterprises').locator('tr', { hasText: '多福巷服装厂' }).getByText('已复工').waitFor();
  // the employees of the enterprise, masked, from the street's list
  await sp.getByTestId('resume-enterprises').locator('tr', { hasText: '多福巷服装厂' }).getByTestId('resume-employees-of').click();
  await sp.getByTestId('employees').locator('tr', { hasText: '赵*伟' }).waitFor();
  await shot(sp, 'street-approved');
  assertClean(sp);
});

// The phone pages (docs/enterprise.md "Staff health clock-in"): the
// employee clocks in with a fever on the phone and declares the return with
// the SMS step; the enterprise account's phone shows the day with the
// employee abnormal, and the declaration reaches the enterprise.
async function phone(client, hash) {
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, client);
  await page.goto(`${ctx.url}/mobile/#${hash}`);
  return page;
}

test('an employee clocks in on the phone and the enterprise\'s daily view shows it', async () => {
  const emp = (sun = ctx.client());
  const tel = '13911112222';
  assert.equal((await emp.post('/api/v1/auth/sms/send', { phone: tel })).status, 200);
  assert.equal((await emp.post('/api/v1/auth/sms/login', { phone: tel, code: smsCode(ctx, tel) })).status, 200);
  assert.equal((await emp.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  const idn = residentId('110101', '19880808', 33);
  let r = await emp.post('/api/v1/me/person', { name: '孙晓梅', id_number: idn, region_code: '110101001001', address: '多福巷5号' });
  assert.equal(r.status, 201, r.text);

  // not yet an employee: the page says so
  const ep = await phone(emp, '/me');
  await ep.getByTestId('my-clockin').click();
  await ep.getByTestId('clockin-not-employee').waitFor();
  r = await ent.post('/api/v1/employees', { id_number: idn, name: '孙晓梅', department: '缝纫车间', post: '车工' });
  assert.equal(r.status, 201, r.text);

  // the clock-in: an empty temperature refused on the page, then a fever
  await ep.reload();
  assert.match(await ep.getByTestId('clockin-enterprise').textContent(), /多福巷服装厂/);
  await ep.getByTestId('clockin-submit').click();
  await ep.getByText('请填写体温').waitFor();
  await ep.getByTestId('clockin-temperature').locator('input').fill('37.9');
  await ep.getByTestId('clockin-symptoms').getByText('乏力').click();
  await ep.getByTestId('clockin-submit').click();
  await ep.getByTestId('clockin-result').filter({ hasText: '异常，已通知单位' }).waitFor();
  assert.match(await ep.getByTestId('clockin-done').textContent(), /37\.9℃[\s\S]*乏力[\s\S]*绿码/);
  await shot(ep, 'enterprise-phone-clockin');

  // the returning-staff declaration with its SMS step (another phone)
  await ep.getByTestId('clockin-declare').click();
  const decl = '13922223333';
  await ep.getByTestId('decl-phone').locator('input').fill(decl);
  await ep.getByTestId('decl-sms-send').click();
  await ep.getByText('验证码已发送').waitFor();
  await ep.getByTestId('decl-sms-code').locator('input').fill('000000');
  await ep.getByTestId('decl-return-date').locator('input').fill('2026-12-20');
  await ep.getByTestId('decl-transport').selectOption('train');
  await ep.getByTestId('decl-transport-no').locator('input').fill('G102');
  await ep.getByTestId('decl-submit').click();
  await ep.getByTestId('decl-sms-code').locator('.van-field__error-message').waitFor(); // a wrong code, under its field
  assert.equal((await ent.get('/api/v1/return-declarations')).body.total, 0, 'nothing written');
  await ep.getByTestId('decl-sms-code').locator('input').fill(smsCode(ctx, decl));
  await ep.getByTestId('decl-submit').click();
  await ep.getByTestId('decl-flag').filter({ hasText: '无异常' }).waitFor();
  assertClean(ep);

  // the enterprise's phone: the day shows her abnormal
  const xp = await phone(ent, '/staff');
  await xp.getByTestId('entry-employees-today').click();
  await xp.getByTestId('today-abnormal').filter({ hasText: '异常 1' }).waitFor();
  const row = xp.getByTestId('today-row').filter({ hasText: '孙*梅' });
  await row.waitFor();
  assert.match(await row.textContent(), /37\.9℃ · 绿码 · 乏力/);
  assert.doesNotMatch(await xp.getByTestId('today-list').textContent(), /孙晓梅/);
  await xp.getByRole('tab', { name: /未打卡/ }).click();
  await xp.getByTestId('today-row').filter({ hasText: '赵*伟' }).waitFor(); // the first test's employee
  await shot(xp, 'enterprise-phone-today');
  assertClean(xp);
  const d = (await ent.get('/api/v1/return-declarations')).body;
  assert.equal(d.total, 1);
  assert.equal(d.items[0].transport_no, 'G102');
  assert.equal(entId, d.items[0].enterprise_id);
});

// 复工复产监测 on the console: the street's row with today's figures of the
// journeys above, drilled down to the enterprise, and the Excel export.
test('the street\'s resume-work monitoring shows the day and drills down', async () => {
  const page = await consolePage(browser, ctx, '/enterprise/monitor', street);
  const table = page.getByTestId('monitor-table');
  const row = table.locator('tr', { hasText: '东华门街道' });
  await row.waitFor();
  // 1 enterprise, resumed, 2 staff, 1 clocked in (of 2: 50%), 1 abnormal
  assert.match((await row.textContent()).replace(/\s+/g, ' '), /东华门街道\s*1\s*1\s*100\.0%\s*2\s*0\s*1\s*50\.0%\s*1/);
  await row.getByTestId('monitor-drill').click();
  await page.getByTestId('monitor-crumb').getByText('东华门街道').waitFor();
  const ent1 = table.locator('tr', { hasText: '多福巷服装厂' });
  await ent1.getByText('已复工').waitFor();
  assert.equal(await ent1.getByTestId('monitor-abnormal').textContent(), '1');
  assert.match(await page.getByTestId('monitor-xlsx').getAttribute('href'), /resume-monitor\?street=110101001000&format=xlsx/);
  const x = await street.get('/api/v1/resume-monitor?street=110101001000&format=xlsx');
  assert.deepEqual([x.status, x.text.slice(0, 2)], [200, 'PK']);
  await page.getByTestId('monitor-by').getByText('按行业').click();
  await table.locator('tr', { hasText: '制造业' }).waitFor();
  await shot(page, 'enterprise-monitor');
  assertClean(page);
});

// 企业复工's console tabs for the street: the returning-staff declarations
// (filtered, the detail drawer, the export link) and the enterprise's
// clock-ins of the day with the date picker.
test('the street reads declarations and an enterprise\'s daily clock-ins on the console', async () => {
  const page = await consolePage(browser, ctx, '/enterprise/resume', street);
  await page.getByRole('tab', { name: '返岗申报' }).click();
  const decls = page.getByTestId('decls');
  const row = decls.locator('tr', { hasText: '孙*梅' });
  await row.waitFor();
  assert.match(await row.textContent(), /多福巷服装厂[\s\S]*2026-12-20[\s\S]*无异常/);
  await page.getByTestId('decl-filter').getByText('异常', { exact: true }).click();
  await decls.getByText('暂无返岗申报').waitFor();
  assert.match(await page.getByTestId('decl-xlsx').getAttribute('href'), /return-declarations\?flagged=1&format=xlsx/);
  await page.getByTestId('decl-filter').getByText('无异常').click();
  await row.getByTestId('decl-open').click();
  const drawer = page.getByTestId('decl-detail');
  await drawer.getByText('G102').waitFor();
  assert.doesNotMatch(await drawer.textContent(), /孙晓梅|13922223333/);
  await drawer.getByRole('button', { name: /close|关闭/i }).click().catch(() => page.keyboard.press('Escape'));

  await page.getByRole('tab', { name: '辖区企业复工状态' }).click();
  await page.getByTestId('resume-enterprises').locator('tr', { hasText: '多福巷服装厂' }).getByTestId('resume-employees-of').click();
  await page.getByRole('tab', { name: '员工每日打卡' }).click();
  await page.getByTestId('clockin-abnormal').filter({ hasText: '异常 1' }).waitFor();
  const sun = page.getByTestId('clockins').locator('tr', { hasText: '孙*梅' });
  assert.match(await sun.textContent(), /37\.9[\s\S]*乏力[\s\S]*异常/);
  await shot(page, 'enterprise-console-clockins');
  assertClean(page);
});

// 企业通行证: an employee on today's shift who clocked in green shows the QR
// on the phone; the enterprise's phone verifies the code below it at the
// gate; an employee whose clock-in was abnormal gets no pass, told why.
test('the enterprise pass: shown on the phone on shift and green, verified at the gate', async () => {
  const w = ctx.client();
  const tel = '13933334444';
  assert.equal((await w.post('/api/v1/auth/sms/send', { phone: tel })).status, 200);
  assert.equal((await w.post('/api/v1/auth/sms/login', { phone: tel, code: smsCode(ctx, tel) })).status, 200);
  assert.equal((await w.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  const idn = residentId('110101', '19900909', 35);
  assert.equal((await w.post('/api/v1/me/person', { name: '钱明亮', id_number: idn, region_code: '110101001001', address: '多福巷6号' })).status, 201);
  let r = await ent.post('/api/v1/employees', { id_number: idn, name: '钱明亮', department: '后勤' });
  assert.equal(r.status, 201, r.text);

  // the enterprise's console: a shift (a bad time refused under its field), today's roster
  const cp = await consolePage(browser, ctx, '/enterprise/shifts', ent);
  await fillIn(cp.getByTestId('shift-name'), '全天班');
  await fillIn(cp.getByTestId('shift-start'), '0点');
  await fillIn(cp.getByTestId('shift-end'), '23:59');
  await cp.getByTestId('shift-add').click();
  await cp.getByTestId('shift-form').locator('.el-form-item__error').filter({ hasText: '开始时间' }).waitFor();
  await fillIn(cp.getByTestId('shift-start'), '00:00');
  await cp.getByTestId('shift-add').click();
  await cp.getByTestId('shifts').locator('tr', { hasText: '全天班' }).waitFor();
  for (const who of ['钱*亮', '孙*梅']) {
    const row = cp.getByTestId('roster').locator('tr', { hasText: who });
    await row.getByTestId('roster-shift').click();
    const option = cp.getByRole('option', { name: '全天班 00:00–23:59' }).filter({ visible: true });
    await option.click();
    await cp.getByTestId('roster').locator('tr', { hasText: who }).locator('.el-select__selected-item', { hasText: '全天班' }).first().waitFor();
    // the next row's list opens only once this one has faded out (two lists
    // showing the same option at once is a strict-mode failure)
    await option.first().waitFor({ state: 'hidden' });
  }
  await shot(cp, 'enterprise-shifts');
  assertClean(cp);
  assert.equal((await w.post('/api/v1/staff-clockins', { temperature: 36.6 })).status, 201);

  // his pass: the QR, the shift, the code to type
  const wp = await phone(w, '/me/clockin');
  await wp.getByTestId('clockin-pass').click();
  await wp.getByTestId('pass-qr').waitFor();
  assert.match(await wp.getByTestId('pass-shift').textContent(), /全天班 00:00-23:59/);
  assert.ok(await wp.getByTestId('pass-qr').evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR image loads');
  const token = (await wp.getByTestId('pass-token').textContent()).trim();
  assert.match(token, /^FK1\./);
  await shot(wp, 'enterprise-phone-pass');
  assertClean(wp);

  // the gate: the enterprise's phone verifies it
  const gp = await phone(ent, '/staff');
  await gp.getByTestId('entry-pass-verify').click();
  await gp.getByTestId('spv-token-input').locator('textarea').fill(token);
  await gp.getByTestId('spv-submit').click();
  await gp.getByTestId('spv-verdict').filter({ hasText: '当班且当天绿码打卡' }).waitFor();
  assert.match(await gp.getByTestId('spv-name').textContent(), /钱\*亮/);
  assert.match(await gp.getByTestId('pass-title').textContent(), /准予通行/);
  // a forged one: refused in words
  await gp.getByText('继续核验').click();
  await gp.getByTestId('spv-token-input').locator('textarea').fill(token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA'));
  await gp.getByTestId('spv-submit').click();
  await gp.getByTestId('spv-verdict').filter({ hasText: '疑似伪造' }).waitFor();
  assertClean(gp);

  // 孙晓梅 clocked in with a fever today: no pass, and why
  const sp = await phone(sun, '/me/staff-pass');
  await sp.getByTestId('pass-refused').filter({ hasText: '当天健康打卡异常' }).waitFor();
  assertClean(sp);
});

// 企业访客 (docs/enterprise.md "Visitors"): a resident opens the link the
// enterprise shares, registers a visitor with the enterprise as the host;
// the enterprise's phone (今日访客) confirms it and its gate lets the code
// in; the console's 企业访客 tab shows the visitor arrived, masked.
test('an enterprise visitor: registered from the shared link, confirmed and let in on the phone, listed on the console', async () => {
  const res = ctx.client();
  const tel = '13944445555';
  assert.equal((await res.post('/api/v1/auth/sms/send', { phone: tel })).status, 200);
  assert.equal((await res.post('/api/v1/auth/sms/login', { phone: tel, code: smsCode(ctx, tel) })).status, 200);
  assert.equal((await res.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  let r = await res.post('/api/v1/me/person', { name: '李访客', id_number: residentId('110101', '19870707', 37), region_code: '110101001001', address: '多福巷7号' });
  assert.equal(r.status, 201, r.text);
  assert.equal((await cc.post(`/api/v1/persons/${r.body.person.id}/verify`, { document_checked: true })).status, 200);

  const vp = await phone(res, `/visitors/new?enterprise=${entId}`);
  await vp.getByTestId('v-host').filter({ hasText: '多福巷服装厂' }).waitFor();
  await vp.getByTestId('v-name').locator('input').fill('周来访');
  await vp.getByTestId('v-id_number').locator('input').fill(residentId('110102', '19910101', 39));
  await vp.getByTestId('v-phone').locator('input').fill('13955556666');
  await vp.getByTestId('v-purpose').locator('input').fill('洽谈订单');
  await vp.getByTestId('visitor-submit').click();
  await vp.getByTestId('visitor-enterprise').filter({ hasText: '多福巷服装厂' }).waitFor();
  assertClean(vp);

  // the enterprise's phone: pending, confirmed, then the code checked in
  const xp = await phone(ent, '/staff');
  await xp.getByTestId('entry-visitors-today').click();
  await xp.getByTestId('vt-pending').filter({ hasText: '待审核 1' }).waitFor();
  await xp.getByTestId('vt-row').filter({ hasText: '周*访' }).getByTestId('vt-confirm').click();
  await xp.getByRole('button', { name: '确认' }).click();
  await xp.getByTestId('vt-expected').filter({ hasText: '待到访 1' }).waitFor();
  const mine = (await res.get('/api/v1/me/visitors')).body.items[0];
  const token = (await res.get(`/api/v1/visitors/${mine.id}/code`)).body.token;
  await xp.getByTestId('vt-token').locator('textarea').fill(token);
  await xp.getByTestId('vt-check').click();
  await xp.getByTestId('vt-verdict').filter({ hasText: '准予通行' }).waitFor();
  await xp.getByTestId('vt-arrived').filter({ hasText: '已到访 1' }).waitFor();
  assert.doesNotMatch(await xp.getByTestId('vt-list').textContent(), /周来访/);
  await shot(xp, 'enterprise-phone-visitors');
  assertClean(xp);

  // the console: the day's visitors, arrived, with the export
  const cp = await consolePage(browser, ctx, '/enterprise/resume', ent);
  await cp.getByRole('tab', { name: '企业访客' }).click();
  const row = cp.getByTestId('visitors').locator('tr', { hasText: '周*访' });
  await row.getByTestId('visitor-presence').filter({ hasText: '已到访' }).waitFor();
  assert.match(await cp.getByTestId('visitors-arrived').textContent(), /已到访 1/);
  assert.match(await cp.getByTestId('visitors-xlsx').getAttribute('href'), /enterprise-visitors\?.*format=xlsx/);
  assert.match(await cp.getByTestId('visitors-share').evaluate((e) => (e.tagName === 'INPUT' ? e : e.querySelector('input')).value), new RegExp(`/mobile/#/visitors/new\\?enterprise=${entId}$`));

  // 导入 on the employees tab: one good row, one bad; the report offered
  await cp.getByRole('tab', { name: '企业员工' }).click();
  await cp.getByTestId('employee-import-open').click();
  const dlg = cp.getByTestId('employee-import-dialog');
  assert.equal(await dlg.getByTestId('employee-import-template').getAttribute('href'), '/api/v1/employees/template.xlsx');
  const csv = '姓名*,证件类型,证件号码*,手机号码,部门,岗位,班次\n吴导入,,' + residentId('110101', '19860606', 41) + ',,包装车间,,\n郑坏行,,110101198606061234,,,,\n';
  await dlg.getByTestId('employee-import-file').setInputFiles({ name: 'employees.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await dlg.getByTestId('employee-import-run').click();
  await dlg.getByTestId('employee-import-errors').waitFor();
  assert.match(await dlg.textContent(), /共 2 行，导入 1 行，出错 1 行/);
  await cp.getByTestId('employees').locator('tr', { hasText: '包装车间' }).waitFor();
  await shot(cp, 'enterprise-visitors-import');
  assertClean(cp);
});
