// 安全管理 > 密钥轮换 in Chromium (docs/keys.md): the security administrator
// sees version 1 and no history, starts a rotation through the confirmation,
// watches it reach "待销毁旧密钥" with every table's bar full (Chinese table
// names), is refused with the server's words under the field when typing
// the wrong version, destroys the old one with the right number, and sees
// version 2 alone and the rotation in the history; the venue codes printed
// before the rotation are counted (2, then 1 once one is shown again from
// the venue list filtered to them, needs_reprint=1); a system administrator
// has no such menu and is sent home from the address. The audit key: a new
// version through a confirmation that says what it does, and an old one
// refused in the server's words while its segment is within retention.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, consolePage, assertClean, closed, shot, CITY_CSV, writeTmp, totpSecretFrom, sharedConsolePage } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!keyspage';
let ctx, browser, sec, sys, cc;
const venues = [];

before(async () => {
  const secrets = {};
  ctx = await startServer({
    env: { FK_KEYROT_EVERY: '1' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      secrets.sec = totpSecretFrom(c.must(['user', 'add', '--username', 'kp_sec', '--password', PW, '--role', 'security_admin', '--region', '110000000000']));
      secrets.sys = totpSecretFrom(c.must(['user', 'add', '--username', 'kp_sys', '--password', PW, '--role', 'system_admin', '--region', '110000000000']));
      c.must(['user', 'add', '--username', 'kp_cc', '--password', PW, '--role', 'command_center', '--region', '110101000000']);
    },
  });
  // two venues whose codes are printed before the rotation
  cc = ctx.client();
  await cc.login('kp_cc', PW);
  const place = await cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: '110101001001' });
  assert.equal(place.status, 201, place.text);
  for (const name of ['多福巷小区东门', '多福巷小区西门']) {
    const v = await cc.post('/api/v1/venues', { name, kind: 'community_gate', place_id: place.body.id });
    assert.equal(v.status, 201, v.text);
    venues.push(v.body);
  }
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
  const page = await sharedConsolePage(browser, ctx, '/security/keys', sec);
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

  // both venue codes predate version 2: counted, with where to reprint them
  // (the security administrator does not read venues: a hint, no link)
  const reprint = page.getByTestId('keys-reprint');
  assert.equal(await reprint.getByTestId('keys-reprint-count').textContent(), '2');
  await reprint.getByText('销毁旧密钥后将失效').waitFor();
  await reprint.getByTestId('keys-reprint-hint').waitFor();
  assert.equal(await reprint.getByTestId('keys-reprint-link').count(), 0);
  // the venue list shows which, filtered as the rotation page says; one
  // code shown (the code dialog) is re-issued and leaves the list
  const list = await consolePage(browser, ctx, '/venues?needs_reprint=1', cc);
  const rows = list.getByTestId('venue-table').locator('tbody tr');
  await list.getByTestId('venue-reprint').nth(1).waitFor();
  assert.equal(await rows.count(), 2);
  await rows.filter({ hasText: venues[0].name }).getByTestId('venue-code').click();
  await list.getByTestId('venue-code-dialog').waitFor();
  await list.keyboard.press('Escape');
  await list.getByTestId('venue-table').getByText(venues[0].name).waitFor({ state: 'detached' });
  assert.equal(await rows.count(), 1);
  assertClean(list);
  await list.close();
  await page.reload();
  await page.getByTestId('keys-state').getByText('待销毁旧密钥').waitFor();
  assert.equal(await page.getByTestId('keys-reprint-count').textContent(), '1');

  // the wrong version is refused with the server's message under the field
  await page.getByTestId('keys-destroy').click();
  const dialog = page.getByTestId('keys-destroy-dialog');
  await dialog.getByTestId('keys-destroy-reprint').getByText('还有 1 个场所码未重新打印').waitFor();
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
  const page = await sharedConsolePage(browser, ctx, '/security/keys', sec);
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
