// Field staff on the mobile pages: sign in with an account, see a home
// page with only what their role can do; a second factor when the role
// asks for one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STAFF_ENTRIES } from '../../web/mobile/staff-entries.js';
import { startServer, launch, openPage, assertClean, shot, CITY_CSV, writeTmp, totp, totpSecretFrom } from './lib.mjs';

const PW = 'Field-pass-2026!';
let ctx, browser, adminSecret, auditSecret;
before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'grid1', '--password', PW, '--role', 'grid_worker', '--region', '110101001001', '--name', '王网格']);
      adminSecret = totpSecretFrom(c.must(['user', 'add', '--username', 'admin', '--password', PW, '--role', 'system_admin', '--region', '110000000000']));
      auditSecret = totpSecretFrom(c.must(['user', 'add', '--username', 'audit1', '--password', PW, '--role', 'audit_admin', '--region', '110000000000', '--name', '审计员']));
    },
  });
  // an account made by an administrator must change its password first
  const admin = ctx.client();
  await admin.login('admin', PW, adminSecret);
  const made = await admin.post('/api/v1/users', {
    username: 'doc1', display_name: '李医生', password: PW, region_code: '110101001001', roles: ['doctor'],
  });
  assert.equal(made.status, 201, made.text);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);
const input = (page, name) => page.locator(`[data-test=${name}] input`);

async function staffSignIn(page, username, password) {
  await page.goto(ctx.url + '/mobile/');
  await field(page, 'tab-staff').click();
  await input(page, 'staff-username').fill(username);
  await input(page, 'staff-password').fill(password);
  await field(page, 'staff-login').click();
}

test('a grid worker signs in and sees only what a grid worker can do', async () => {
  const page = await openPage(browser, { mobile: true });
  await staffSignIn(page, 'grid1', 'wrong-password');
  await field(page, 'form-error').filter({ hasText: '用户名或密码错误' }).waitFor();
  await shot(page, 'mobile-staff-wrong-password');

  await input(page, 'staff-password').fill(PW);
  await field(page, 'staff-login').click();
  await page.waitForURL(/#\/staff$/);
  await field(page, 'staff-entries').waitFor();
  assert.equal(await field(page, 'staff-name').innerText(), '王网格');
  assert.deepEqual(await field(page, 'staff-role').allInnerTexts(), ['网格员']);
  assert.equal(await field(page, 'staff-region').innerText(), '多福巷社区');
  const shown = await page.locator('[data-test^=entry-]').evaluateAll((els) => els.map((e) => e.dataset.test));
  assert.deepEqual(shown.sort(), [
    'entry-alerts', 'entry-cert-verify', 'entry-enterprises', 'entry-home-verification', 'entry-inspect', 'entry-itinerary-verify', 'entry-observation', 'entry-person-register',
    'entry-person-search', 'entry-places', 'entry-record-scan', 'entry-report', 'entry-tasks', 'entry-visitors',
  ]);
  // every entry of every role opens a page: no tile without one
  assert.deepEqual(STAFF_ENTRIES.filter((e) => !e.to).map((e) => e.key), []);
  await shot(page, 'mobile-staff-grid-home');

  await field(page, 'logout').click();
  await page.waitForURL(/#\/login$/);
  assertClean(page);
});

test('a role that needs a second factor is asked for the dynamic code', async () => {
  const page = await openPage(browser, { mobile: true });
  await staffSignIn(page, 'audit1', PW);
  await field(page, 'staff-totp').waitFor();
  assert.match(await field(page, 'staff-totp').locator('.van-field__error-message').innerText(), /动态验证码/);
  await shot(page, 'mobile-staff-totp');
  await input(page, 'staff-totp').fill(totp(auditSecret));
  await field(page, 'staff-login').click();
  await page.waitForURL(/#\/staff$/);
  // the audit administrator's work is in the console, none on the phone
  await page.getByText('您的角色暂无可在手机上办理的事项').waitFor();
  assert.equal(await page.locator('[data-test^=entry-]').count(), 0);
  await shot(page, 'mobile-staff-no-entries');
  assertClean(page);
});

test('a doctor whose password must change does that first, then sees a doctor\'s entries', async () => {
  const page = await openPage(browser, { mobile: true });
  await staffSignIn(page, 'doc1', PW);
  await page.waitForURL(/#\/staff\/password$/);
  await field(page, 'password-forced').waitFor();
  const NEW = 'Doctor-new-2026!';
  await input(page, 'pw-old').fill('not-the-password');
  await input(page, 'pw-new').fill(NEW);
  await input(page, 'pw-again').fill(NEW);
  await field(page, 'pw-submit').click();
  await field(page, 'pw-old').locator('.van-field__error-message').filter({ hasText: '原密码错误' }).waitFor();
  await shot(page, 'mobile-staff-password-change');
  await input(page, 'pw-old').fill(PW);
  await field(page, 'pw-submit').click();
  await page.waitForURL(/#\/staff$/);
  await field(page, 'staff-entries').waitFor();
  assert.deepEqual(await field(page, 'staff-role').allInnerTexts(), ['社区医生']);
  const shown = await page.locator('[data-test^=entry-]').evaluateAll((els) => els.map((e) => e.dataset.test));
  assert.deepEqual(shown.sort(), ['entry-cert-verify', 'entry-observation', 'entry-patrol', 'entry-person-search', 'entry-record-scan', 'entry-report', 'entry-tasks']);
  await shot(page, 'mobile-staff-doctor-home');
  assertClean(page);
});
