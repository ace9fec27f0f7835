// The console's sign-in and account steps in Chromium: right and wrong
// password, lock-out with the time to try again, TOTP sign-in of an
// administrator, the forced password change, the first-sign-in TOTP
// enrolment with its QR code, and signing out everywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, openPage, assertClean, shot, CITY_CSV, writeTmp, totp, totpSecretFrom, sleep } from './lib.mjs';

// the pages mark what tests touch with data-test attributes
selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!signin';
let ctx, browser, sysadmin;
const secrets = {};

before(async () => {
  ctx = await startServer({
    // a short slow-down so the lock-out test waits it out quickly
    env: { FK_LOGIN_BACKOFF_MS: '300' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      const add = (u, role) =>
        c.must(['user', 'add', '--username', u, '--password', PW, '--role', role, '--region', '110101000000', '--name', `测试${u}`]);
      add('s_cc', 'command_center');
      add('s_locked', 'leader');
      add('s_everywhere', 'leader');
      add('s_optional', 'leader');
      secrets.sys = totpSecretFrom(add('s_sys', 'system_admin'));
      secrets.sec = totpSecretFrom(add('s_sec', 'security_admin'));
      // a second one for the API: a TOTP code is accepted once
      secrets.roles = totpSecretFrom(add('s_roles', 'security_admin'));
      secrets.audit = totpSecretFrom(add('s_audit', 'audit_admin'));
    },
  });
  sysadmin = ctx.client();
  await sysadmin.login('s_sys', PW, secrets.sys);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

async function signInPage(path = '/console/') {
  const page = await openPage(browser);
  await page.goto(ctx.url + path);
  await page.getByTestId('login-username').waitFor();
  return page;
}

async function fill(page, username, password) {
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

// A user the system admin creates through the API (the console's users
// page is another issue's): new accounts must change their password.
async function createUser(username, roles, mustChange) {
  const r = await sysadmin.post('/api/v1/users', {
    username, display_name: `测试${username}`, password: PW, region_code: '110101000000', roles, must_change_password: mustChange,
  });
  assert.equal(r.status, 201, r.text);
}

test('signing in with the right password opens the home page with the scope in the header', async () => {
  const page = await signInPage();
  await shot(page, 'signin-form');
  await fill(page, 's_cc', PW);
  await page.waitForURL(/#\/home$/);
  await page.getByTestId('scope').getByText('东城区').waitFor();
  assert.match(await page.getByTestId('user-menu').innerText(), /测试s_cc/);
  await shot(page, 'signin-home');
  assertClean(page);
});

test('a wrong password shows the server message and stays on the sign-in page', async () => {
  const page = await signInPage();
  await fill(page, 's_cc', 'Wrong-pass-1');
  const alert = page.getByTestId('login-error');
  await alert.waitFor();
  assert.match(await alert.innerText(), /用户名或密码错误/);
  assert.match(page.url(), /#\/login/);
  await shot(page, 'signin-wrong-password');
  assertClean(page);
});

test('wrong passwords slow down, then lock the account from this address, and the page says when to try again', async () => {
  const page = await signInPage();
  let throttled = 0;
  for (let i = 0; i < 5;) {
    await fill(page, 's_locked', `Wrong-pass-${i}`);
    await page.getByTestId('login-error').waitFor();
    await page.waitForFunction(() => !document.querySelector('[data-test=login-submit]').classList.contains('is-loading'));
    const text = await page.getByTestId('login-error').innerText();
    const wait = /请 (\d+) 秒后再试/.exec(text);
    if (wait) {
      // from the second failure in a row the page says how long to wait
      throttled++;
      await sleep(Number(wait[1]) * 1000 + 100);
      continue;
    }
    i++;
  }
  assert.ok(throttled > 0, 'the slow-down was shown');
  assert.match(await page.getByTestId('login-error').innerText(), /登录失败次数过多.*请于 \d\d:\d\d 后再试/);
  // the right password no longer helps
  await fill(page, 's_locked', PW);
  await sleep(300);
  assert.match(await page.getByTestId('login-error').innerText(), /登录失败次数过多/);
  assert.match(page.url(), /#\/login/);
  await shot(page, 'signin-locked');
  assertClean(page);
});

test('an administrator is asked for the TOTP code, a wrong code is refused next to the field, the right one signs in', async () => {
  const page = await signInPage();
  await fill(page, 's_sec', PW);
  const code = page.getByTestId('login-totp');
  await code.waitFor();
  await shot(page, 'signin-totp-asked');
  const good = totp(secrets.sec);
  await code.fill(good === '000000' ? '111111' : '000000');
  await page.getByTestId('login-submit').click();
  await page.getByText('动态验证码错误').waitFor();
  await shot(page, 'signin-totp-wrong');
  await code.fill(totp(secrets.sec));
  await page.getByTestId('login-submit').click();
  await page.waitForURL(/#\/home$/);
  await shot(page, 'signin-totp-home');
  assertClean(page);
});

test('a forced password change comes before anything else, with the policy checked next to the field', async () => {
  await createUser('s_newbie', ['grid_worker'], true);
  const page = await signInPage('/console/#/people');
  await fill(page, 's_newbie', PW);
  await page.waitForURL(/#\/account$/);
  await page.getByTestId('pending-step').getByText('请先修改密码').waitFor();
  // the guard keeps the user on the step
  await page.goto(ctx.url + '/console/#/people');
  await page.waitForURL(/#\/account$/);
  await page.getByTestId('pw-old').fill(PW);
  await page.getByTestId('pw-new').fill('short');
  await page.getByTestId('pw-confirm').fill('short');
  await page.getByTestId('pw-submit').click();
  await page.getByText('新密码至少8位').waitFor();
  await shot(page, 'pending-password-policy');
  // the server's own answer lands next to the field too (wrong old password)
  await page.getByTestId('pw-old').fill('Not-the-0ld');
  await page.getByTestId('pw-new').fill('N3w-Passw0rd!');
  await page.getByTestId('pw-confirm').fill('N3w-Passw0rd!');
  await page.getByTestId('pw-submit').click();
  await page.getByTestId('pw-old-item').getByText('原密码错误').waitFor();
  await shot(page, 'pending-password-server-error');
  await page.getByTestId('pw-old').fill(PW);
  await page.getByTestId('pw-submit').click();
  await page.waitForURL(/#\/home$/);
  await page.getByRole('menuitem', { name: '人员管理' }).waitFor();
  await shot(page, 'pending-password-done');
  assertClean(page);
});

test('first sign-in of a user whose role requires TOTP walks through enrolment with a QR code', async () => {
  // administrator roles are granted only on the command line, which enrols
  // them at once: a role of the security admin's that requires TOTP, given
  // to a new account, leaves the enrolment for the first sign-in
  const sec = ctx.client();
  await sec.login('s_roles', PW, secrets.roles);
  const role = await sec.post('/api/v1/roles', { key: 'duty_officer', name: '值班员', permissions: ['person.read', 'region.read'], require_totp: true });
  assert.equal(role.status, 201, role.text);
  await createUser('s_officer', ['duty_officer'], false);
  const page = await signInPage();
  await fill(page, 's_officer', PW);
  await page.waitForURL(/#\/account$/);
  await page.getByTestId('pending-step').getByText('请先绑定动态验证码').waitFor();
  const qr = page.getByTestId('totp-qr');
  await qr.waitFor();
  assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml/);
  assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code image renders');
  const secret = (await page.getByTestId('totp-secret').innerText()).trim();
  assert.match(secret, /^[A-Z2-7]{16,}$/);
  await shot(page, 'pending-totp-qr');
  await page.getByTestId('totp-code').fill(totp(secret));
  await page.getByTestId('totp-confirm').click();
  await page.waitForURL(/#\/home$/);
  await shot(page, 'pending-totp-done');
  assertClean(page);
});

test('signing out everywhere ends the session and returns to sign-in', async () => {
  const page = await signInPage();
  await fill(page, 's_everywhere', PW);
  await page.waitForURL(/#\/home$/);
  await page.goto(ctx.url + '/console/#/account');
  await page.getByTestId('logout-all').click();
  await page.getByRole('button', { name: '确定' }).click();
  await page.waitForURL(/#\/login/);
  await page.goto(ctx.url + '/console/#/people');
  await page.waitForURL(/#\/login/);
  await shot(page, 'logout-everywhere');
  assertClean(page);
});

test('a user may enable TOTP on the account page and turn it off again with the password', async () => {
  const page = await signInPage();
  await fill(page, 's_optional', PW);
  await page.waitForURL(/#\/home$/);
  await page.goto(ctx.url + '/console/#/account');
  await page.getByTestId('totp-state').getByText('未启用').waitFor();
  await page.getByTestId('totp-start').click();
  await page.getByTestId('totp-qr').waitFor();
  const secret = (await page.getByTestId('totp-secret').innerText()).trim();
  await page.getByTestId('totp-code').fill(totp(secret));
  await page.getByTestId('totp-confirm').click();
  await page.getByTestId('totp-state').getByText('已启用').waitFor();
  await shot(page, 'account-totp-enabled');
  await page.getByTestId('totp-reset').click();
  const box = page.getByRole('dialog', { name: '关闭动态验证码' });
  // a wrong password is refused and the session survives it
  await box.locator('input').fill('Not-my-passw0rd');
  await box.getByRole('button', { name: '关闭', exact: true }).click();
  await page.getByText('密码错误').first().waitFor();
  assert.match(page.url(), /#\/account$/);
  await page.getByTestId('totp-reset').click();
  await box.locator('input').fill(PW);
  await box.getByRole('button', { name: '关闭', exact: true }).click();
  await page.getByTestId('totp-state').getByText('未启用').waitFor();
  await shot(page, 'account-totp-disabled');
  assertClean(page);
});

test('a role that requires TOTP cannot turn it off: the page shows why', async () => {
  const page = await signInPage();
  await fill(page, 's_audit', PW);
  await page.getByTestId('login-totp').fill(totp(secrets.audit));
  await page.getByTestId('login-submit').click();
  await page.waitForURL(/#\/home$/);
  await page.goto(ctx.url + '/console/#/account');
  await page.getByTestId('totp-reset').click();
  const box = page.getByRole('dialog', { name: '关闭动态验证码' });
  await box.locator('input').fill(PW);
  await box.getByRole('button', { name: '关闭', exact: true }).click();
  await page.getByText('您的角色要求使用动态验证码，不能自行关闭').waitFor();
  await page.getByTestId('totp-state').getByText('已启用').waitFor();
  await shot(page, 'account-totp-required');
  assertClean(page);
});
