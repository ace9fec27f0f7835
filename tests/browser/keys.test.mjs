// 安全管理 > 密钥轮换 in Chromium (docs/keys.md): the security administrator
// sees version 1 and no history, starts a rotation through the confirmation,
// watches it reach "待销毁旧密钥" with every table's bar full (Chinese table
// names), is refused with the server's words under the field when typing
// the wrong version, destroys the old one with the right number, and sees
// version 2 alone and the rotation in the history; a system administrator
// has no such menu and is sent home from the address. The audit key: a new
// version through a confirmation that says what it does, and an old one
// refused in the server's words while its segment is within retention.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, consolePage, assertClean, closed, shot, CITY_CSV, writeTmp, totpSecretFrom } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!keyspage';
let ctx, browser, sec, sys;

before(async () => {
  const secrets = {};
  ctx = await startServer({
    env: { FK_KEYROT_EVERY: '1' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      secrets.sec = totpSecretFrom(c.must(['user', 'add', '--username', 'kp_sec', '--password', PW, '--role', 'security_admin', '--region', '110000000000']));
      secrets.sys = totpSecretFrom(c.must(['user', 'add', '--username', 'kp_sys', '--password', PW, '--role', 'system_admin', '--region', '110000000000']));
    },
  });
  sec = ctx.client();
  await sec.login('kp_sec', PW, secrets.sec);
  sys = ctx.client();
  await sys.login('kp_sys', PW, secrets.sys);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

test('a whole rotation from the console, the destruction confirmed by the version typed', async () => {
  const page = await consolePage(browser, ctx, '/security/keys', sec);
  await page.getByTestId('keys-current').getByText('当前主密钥版本：1').waitFor();
  await page.getByTestId('keys-history').getByText('尚未进行过密钥轮换').waitFor();

  // the confirmation first: cancelled, nothing starts
  await page.getByTestId('keys-start').click();
  await page.getByRole('button', { name: '取消' }).click();
  assert.equal((await sec.get('/api/v1/security/keys')).body.rotations.length, 0);
  await page.getByTestId('keys-start').click();
  await page.getByRole('button', { name: '开始', exact: true }).click();
  await page.getByTestId('keys-current').getByText('当前主密钥版本：2').waitFor();
  await page.getByTestId('keys-state').getByText('待销毁旧密钥').waitFor({ timeout: 20000 });
  const progress = page.getByTestId('keys-progress');
  await progress.getByText('用户', { exact: true }).waitFor();
  const users = progress.locator('tr', { hasText: '动态口令密钥' });
  assert.match(await users.getByTestId('keys-count').textContent(), /^2 \/ 2$/);
  assert.equal(await progress.locator('.el-progress.is-success').count(), await progress.locator('tbody tr').count(), 'every bar full');
  await shot(page, 'keys-resealed');

  // the wrong version is refused with the server's message under the field
  await page.getByTestId('keys-destroy').click();
  const dialog = page.getByTestId('keys-destroy-dialog');
  await dialog.getByTestId('keys-destroy-version').fill('2');
  await dialog.getByTestId('keys-destroy-confirm').click();
  await dialog.getByText('请输入要销毁的旧密钥版本号 1 以确认').waitFor();
  await dialog.getByTestId('keys-destroy-version').fill('1');
  await dialog.getByTestId('keys-destroy-confirm').click();
  await closed(dialog, page);
  await page.getByTestId('keys-state').getByText('已完成').waitFor({ timeout: 20000 });
  await page.getByTestId('keys-current').getByText('已保存版本：2）').waitFor();
  const history = page.getByTestId('keys-history').locator('tbody tr');
  assert.equal(await history.count(), 1);
  assert.match(await history.first().textContent(), /1 → 2.*已完成.*kp_sec/);
  await shot(page, 'keys-destroyed');
  assertClean(page);
});

test('the audit key: a new version through the confirmation, an old one refused until its segment passed retention', async () => {
  const page = await consolePage(browser, ctx, '/security/keys', sec);
  const before = (await sec.get('/api/v1/security/keys')).body.audit_current;
  await page.getByTestId('audit-key-current').getByText(`当前审计密钥版本：${before}`).waitFor();
  // the confirmation says what it does; cancelled, nothing changes
  await page.getByTestId('audit-key-rotate').click();
  await page.getByText('每个节点的审计日志哈希链追加一条切换记录').waitFor();
  await page.getByRole('button', { name: '取消' }).click();
  assert.equal((await sec.get('/api/v1/security/keys')).body.audit_current, before);
  for (let i = 1; i <= 2; i++) {
    await page.getByTestId('audit-key-rotate').click();
    await page.getByRole('button', { name: '更换', exact: true }).click();
    await page.getByTestId('audit-key-current').getByText(`当前审计密钥版本：${before + i}`).waitFor();
  }
  const rows = page.getByTestId('audit-keys').locator('tbody tr');
  assert.equal(await rows.count(), before + 2);
  assert.match(await rows.first().textContent(), new RegExp(`^${before + 2}当前使用`));
  // the previous version: its entries are still within retention, so the server refuses
  const prev = rows.nth(1);
  assert.match(await prev.textContent(), /保留中/);
  await prev.getByTestId('audit-key-destroy').click();
  const dialog = page.getByTestId('audit-destroy-dialog');
  await dialog.getByTestId('audit-destroy-version').fill(String(before + 1));
  await dialog.getByTestId('audit-destroy-confirm').click();
  await dialog.getByText(/尚未全部超过保留期/).waitFor();
  await shot(page, 'keys-audit-refused');
  await dialog.getByRole('button', { name: '取消' }).click();
  await closed(dialog, page);
  const held = (await sec.get('/api/v1/security/keys')).body.audit_versions.find((v) => v.version === before + 1);
  assert.equal(held.destroyed_at, null);
  assertClean(page);
});

test('a system administrator has no key rotation page', async () => {
  const page = await consolePage(browser, ctx, '/security/keys', sys);
  await page.waitForURL(/#\/home/);
  assert.equal(await page.getByText('密钥轮换').count(), 0);
  assertClean(page);
});
