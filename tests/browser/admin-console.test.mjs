// The console's administration pages in Chromium: the audit administrator
// finds earlier actions in the audit log and checks its integrity; a region
// import with a bad row shows the row-level report; a child region is
// created, renamed and deleted; a role that breaks the separation of the
// three administrators is refused on its permissions; a user is created,
// locked and unlocked; an enterprise with a wrong credit code and a place
// with a wrong phone are refused on those fields; a department is created.
// Sign-in is a session cookie taken from the API, so these pages are tested
// apart from the sign-in page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, assertClean, shot, CITY_CSV, writeTmp, totp, totpSecretFrom, visit, networkIdle } from './lib.mjs';
import { residentId, creditCode } from '../api/lib.mjs';

const PW = 'Adm1n-Console-Pw';
let ctx, browser;
const secrets = {};
const sessions = {};

function addUser(c, username, role, region) {
  const out = c.must(['user', 'add', '--username', username, '--password', PW, '--role', role, '--region', region, '--name', username]);
  secrets[username] = totpSecretFrom(out);
}

// The fk_session cookie of an API sign-in, one per user: a TOTP code is
// accepted once, so administrators do not sign in twice within 30 s.
async function sessionOf(username) {
  if (sessions[username]) return sessions[username];
  const body = { username, password: PW };
  if (secrets[username]) body.totp = totp(secrets[username]);
  const r = await fetch(ctx.url + '/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 200, `sign in ${username}: ${await r.text()}`);
  return (sessions[username] = /fk_session=([^;]+)/.exec(r.headers.get('set-cookie'))[1]);
}

// A console page of `username` at `hash` (e.g. '/audit'), its table loaded.
// One page per user, loaded once: later tests show their view on it through
// the router (by way of the home page, so the view mounts and reads its data
// anew), as a page load costs Chromium seconds of CPU. The page's problems
// accumulate, so assertClean also covers the earlier tests on that page.
const pages = new Map();
async function consoleAs(username, hash) {
  let page = pages.get(username);
  if (page) {
    await visit(page, hash, '/home');
    await networkIdle(page);
    return page;
  }
  page = await openPage(browser);
  await page.context().addCookies([{ name: 'fk_session', value: await sessionOf(username), url: ctx.url }]);
  await page.goto(`${ctx.url}/console/#${hash}`, { waitUntil: 'networkidle' });
  pages.set(username, page);
  return page;
}

// A call of the API as `username`.
async function apiAs(username, method, path, body) {
  const r = await fetch(ctx.url + path, {
    method,
    headers: { cookie: `fk_session=${await sessionOf(username)}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// The visible message of the form item whose label is `label`.
const fieldError = (page, form, label) =>
  page.locator(`[data-test="${form}"] .el-form-item`).filter({ has: page.locator('.el-form-item__label', { hasText: label }) }).locator('.el-form-item__error');

// Expand a lazily loaded el-tree inside `scope` along `names`: each node
// is opened (unless it is open or still loading) until the next name shows.
async function expandPath(page, scope, names) {
  const node = (name) => scope.locator('.el-tree-node__content', { hasText: name }).first();
  for (let i = 0; i + 1 < names.length; i++) {
    await node(names[i]).waitFor();
    for (let tries = 0; !(await node(names[i + 1]).isVisible()); tries++) {
      assert.ok(tries < 40, `region ${names[i + 1]} is shown under ${names[i]}`);
      const open = /\bexpanded\b/.test(await node(names[i]).locator('.el-tree-node__expand-icon').getAttribute('class'));
      const loading = await node(names[i]).locator('.el-tree-node__loading-icon').count();
      if (!open && !loading) await node(names[i]).locator('.el-tree-node__expand-icon').click();
      await page.waitForTimeout(100);
    }
  }
  return node(names.at(-1));
}

// Open the region picker of form item `label` and choose the region at the
// end of `path`.
async function pickRegion(page, form, label, path) {
  const item = page.locator(`[data-test="${form}"] .el-form-item`).filter({ has: page.locator('.el-form-item__label', { hasText: label }) });
  await item.locator('.el-select').click();
  await (await expandPath(page, page.locator('.el-tree-select__popper:visible'), path)).click();
}

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      addUser(c, 'sysadmin', 'system_admin', '110000000000');
      addUser(c, 'secadmin', 'security_admin', '110000000000');
      addUser(c, 'auditor', 'audit_admin', '110000000000');
      addUser(c, 'command', 'command_center', '110101000000');
    },
  });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

test('the audit administrator finds the command centre reading a person, and the chain is intact', async () => {
  const person = await apiAs('command', 'POST', '/api/v1/persons', { name: '审计甲', id_number: residentId('110101', '19850412', 77), region_code: '110101001001' });
  await apiAs('command', 'GET', `/api/v1/persons/${person.id}`);

  const page = await consoleAs('auditor', '/audit');
  await page.locator('[data-test="audit-table"] .el-table__row').first().waitFor();
  await page.fill('[data-test="audit-username"]', 'command');
  await page.fill('[data-test="audit-action"]', 'person.');
  await page.fill('[data-test="audit-object-id"]', person.id);
  // a time range from an hour ago to an hour ahead, typed as China time
  const china = (ms) => new Date(ms + 8 * 3600e3).toISOString().slice(0, 19).replace('T', ' ');
  const ends = page.locator('.el-range-input');
  await ends.nth(0).fill(china(Date.now() - 3600e3));
  await ends.nth(1).fill(china(Date.now() + 3600e3));
  await ends.nth(1).press('Enter');
  const searched = page.waitForResponse((r) => /\/api\/v1\/audit\?.*from=\d+.*to=\d+/.test(r.url()));
  await page.click('[data-test="audit-search"]');
  assert.equal((await searched).status(), 200);
  const rows = page.locator('[data-test="audit-table"] .el-table__body .el-table__row');
  await rows.filter({ hasText: '查看人员' }).waitFor();
  const texts = await rows.allInnerTexts();
  assert.ok(texts.some((t) => t.includes('新增人员')), 'the creation is listed');
  assert.ok(texts.every((t) => t.includes('command') && t.includes(person.id)), 'only the filtered user and object');
  // the role and the result in Chinese, not their keys
  assert.ok(texts.every((t) => t.includes('指挥中心') && !t.includes('command_center')), texts.join('\n'));
  assert.ok(texts.every((t) => t.includes('成功') && !/\bok\b/.test(t)), texts.join('\n'));
  await shot(page, 'admin-audit-filtered');

  await page.click('[data-test="audit-verify"]');
  const result = page.locator('[data-test="audit-verify-result"]');
  await result.waitFor();
  assert.match(await result.innerText(), /审计日志完整：已校验 [\d,]+ 条记录/);
  await shot(page, 'admin-audit-verified');
  assertClean(page);
});

test('a region import with a bad row imports the good rows and reports the bad one', async () => {
  const page = await consoleAs('sysadmin', '/regions');
  await page.locator('[data-test="region-tree"] .el-tree-node').first().waitFor();
  await page.click('[data-test="region-import-open"]');
  const csv = ['code,name,level,parent_code', '110101002002,钟鼓社区,community,110101002000', '11010100300X,坏代码社区,community,110101003000', ''].join('\n');
  await page.setInputFiles('[data-test="region-import-file"]', { name: 'regions.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.click('[data-test="region-import-submit"]');
  const summary = page.locator('[data-test="region-import-summary"]');
  await summary.waitFor();
  assert.match(await summary.innerText(), /新增 1 条，更新 0 条，错误 1 条/);
  const errors = page.locator('[data-test="region-import-errors"] .el-table__body .el-table__row');
  assert.equal(await errors.count(), 1);
  const cells = await errors.first().locator('td').allInnerTexts();
  assert.equal(cells[0].trim(), '3', 'the bad row is the file\'s third line');
  assert.equal(cells[1].trim(), 'code');
  assert.ok(cells[3].trim().length > 0, 'with a message in Chinese');
  await shot(page, 'admin-region-import-report');
  assertClean(page);
});

test('a child region is created, renamed and deleted in the tree', async () => {
  const page = await consoleAs('sysadmin', '/regions');
  const tree = page.locator('[data-test="region-tree"]');
  const node = (name) => tree.locator('.el-tree-node__content', { hasText: name }).first();
  await (await expandPath(page, tree, ['北京市', '市辖区', '东城区', '景山街道'])).click();
  await page.click('[data-test="region-add-child"]');
  await page.fill('[data-test="region-code"]', '110101002009');
  await page.fill('[data-test="region-name"]', '新建社区');
  await page.click('[data-test="region-save"]');
  await page.locator('[data-test="region-form"]').waitFor({ state: 'detached' });
  await node('新建社区').click();
  await page.click('[data-test="region-edit"]');
  await page.fill('[data-test="region-name"]', '黄化门社区');
  await page.click('[data-test="region-save"]');
  await node('黄化门社区').waitFor();
  assert.match(await node('黄化门社区').innerText(), /社区 110101002009/);
  await shot(page, 'admin-region-renamed');
  await page.click('[data-test="region-delete"]');
  await page.locator('.el-popconfirm').getByRole('button', { name: '确定' }).click();
  await node('黄化门社区').waitFor({ state: 'detached' });
  assertClean(page);
});

test('a community is moved to another street with its people; a taken code is refused on the field', async () => {
  // a community with a grid and a resident record under 景山街道
  for (const [code, name, level, parent] of [['110101002008', '迁出社区', 'community', '110101002000'], ['110101002008001', '迁出网格', 'grid', '110101002008']]) {
    await apiAs('command', 'POST', '/api/v1/regions', { code, name, level, parent_code: parent });
  }
  const p = await apiAs('command', 'POST', '/api/v1/persons', { name: '迁移人', id_type: 'resident_id', id_number: residentId('110101', '19770707', 31), region_code: '110101002008001' });

  const page = await consoleAs('sysadmin', '/regions');
  const tree = page.locator('[data-test="region-tree"]');
  await (await expandPath(page, tree, ['北京市', '市辖区', '东城区', '景山街道', '迁出社区'])).click();
  await page.click('[data-test="region-move"]');
  const dialog = page.locator('[data-test="region-move-dialog"]');
  await dialog.locator('.el-select').click();
  await (await expandPath(page, page.locator('.el-tree-select__popper:visible'), ['北京市', '市辖区', '东城区', '东华门街道'])).click();
  // 001 is 多福巷社区 already: the server refuses it next to the code
  await page.fill('[data-test="region-move-own"]', '001');
  await page.click('[data-test="region-move-save"]');
  await assert.doesNotReject(dialog.locator('.el-form-item__error', { hasText: '新代码已被其他区划使用' }).waitFor());
  await shot(page, 'admin-region-move-taken');
  await page.fill('[data-test="region-move-own"]', '008');
  assert.match(await page.locator('[data-test="region-move-preview"]').innerText(), /110101001008/);
  await page.click('[data-test="region-move-save"]');
  await dialog.waitFor({ state: 'detached' });
  await tree.locator('.el-tree-node__content', { hasText: '迁出社区' }).first().waitFor();
  // the tree's node keeps its name: wait for the details of the moved region, not the old ones
  await page.locator('.el-descriptions', { hasText: '110101001008' }).waitFor();
  await shot(page, 'admin-region-moved');
  // the person followed the region, as the API shows
  const moved = await apiAs('command', 'GET', `/api/v1/persons/${p.id}`);
  assert.equal(moved.region_code, '110101001008001');
  assertClean(page);
});

test('a role mixing the audit right with others is refused on its permissions; built-in roles are read-only', async () => {
  const page = await consoleAs('secadmin', '/roles');
  await page.locator('[data-test="role-table"] .el-table__row').first().waitFor();
  await page.click('[data-test="role-open-audit_admin"]');
  const form = page.locator('[data-test="role-form"]');
  await form.waitFor();
  assert.ok(await page.locator('[data-test="perm-audit.read"] input').isDisabled(), 'a built-in role cannot be edited');
  assert.equal(await page.locator('[data-test="role-save"]').count(), 0);
  await page.keyboard.press('Escape');
  await form.waitFor({ state: 'detached' });

  await page.click('[data-test="role-new"]');
  await page.fill('[data-test="role-key"]', 'mixed_auditor');
  await page.fill('[data-test="role-name"]', '混合审计');
  await page.click('[data-test="perm-audit.read"]');
  await page.click('[data-test="perm-person.read"]');
  // every permission area is named in Chinese: no raw key on the page
  const areas = await page.locator('[data-test="role-permissions"] .group-name').allInnerTexts();
  assert.ok(areas.length >= 15, areas.join());
  for (const a of areas) assert.match(a, /^[\u4e00-\u9fff]+$/, `area "${a}"`);
  assert.ok(areas.includes('预警') && areas.includes('访客') && areas.includes('本人'), areas.join());
  await page.click('[data-test="role-save"]');
  const err = fieldError(page, 'role-form', '权限');
  await err.waitFor();
  assert.match(await err.innerText(), /三员分立/);
  await shot(page, 'admin-role-separation-of-duties');

  // without the audit right the role is accepted
  await page.click('[data-test="perm-audit.read"]');
  await page.click('[data-test="role-save"]');
  await form.waitFor({ state: 'detached' });
  await page.locator('[data-test="role-table"]').getByText('mixed_auditor').waitFor();
  assertClean(page);
});

test('the user form offers only the roles the administrator may grant', async () => {
  const page = await consoleAs('sysadmin', '/users');
  await page.locator('[data-test="user-table"] .el-table__row').first().waitFor();
  // the shared list parts (ListHead, ListPager, ListSearchButtons): the
  // total, the CSV export of the same filters (no Excel: the endpoint
  // answers CSV only), the pager, a search by keyword
  const rows = await page.locator('[data-test="user-table"] .el-table__body .el-table__row').count();
  assert.match(await page.locator('[data-test="user-list-total"]').innerText(), new RegExp(`^共 ${rows} 个$`));
  assert.match(await page.locator('[data-test="user-list-export"]').getAttribute('href'), /\/api\/v1\/users\?.*format=csv/);
  assert.equal(await page.locator('[data-test="user-list-export-xlsx"]').count(), 0);
  assert.equal(await page.locator('[data-test="user-pager"].el-pagination').count(), 1);
  await page.fill('[data-test="user-q"]', 'sysadmin');
  await page.click('[data-test="user-search-submit"]');
  await page.waitForFunction(() => /^共 1 个$/.test(document.querySelector('[data-test="user-list-total"]')?.innerText || ''));
  assert.match(await page.locator('[data-test="user-list-export"]').getAttribute('href'), /q=sysadmin/);
  await page.click('[data-test="user-search-reset"]');
  await page.waitForFunction((n) => document.querySelector('[data-test="user-list-total"]')?.innerText === `共 ${n} 个`, rows);
  await page.click('[data-test="user-new"]');
  await page.click('[data-test="user-roles"]');
  await page.locator('[data-test="user-role-grid_worker"]').waitFor();
  const offered = await page.locator('[data-test^="user-role-"]:visible')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-test').slice('user-role-'.length)));
  // the ordinary staff roles, never the citizen's nor the three administrators'
  assert.ok(offered.includes('grid_worker') && offered.includes('command_center'), offered.join());
  for (const k of ['citizen', 'system_admin', 'security_admin', 'audit_admin'])
    assert.ok(!offered.includes(k), `${k} is not offered: ${offered.join()}`);
  await shot(page, 'admin-user-grantable-roles');
  await page.keyboard.press('Escape');
  assertClean(page);
});

test('a user is created, locked and unlocked', async () => {
  const page = await consoleAs('sysadmin', '/users');
  await page.locator('[data-test="user-table"] .el-table__row').first().waitFor();
  await page.click('[data-test="user-new"]');
  await page.fill('[data-test="user-username"]', 'wang.wu');
  await page.fill('[data-test="user-password"]', 'Wang-Wu-2024pw');
  await page.fill('[data-test="user-display-name"]', '王五');
  await pickRegion(page, 'user-form', '所属区划', ['北京市', '市辖区', '东城区']);
  await page.click('[data-test="user-roles"]');
  await page.click('[data-test="user-role-grid_worker"]');
  await page.keyboard.press('Escape');
  await page.locator('[data-test="user-role-grid_worker"]').waitFor({ state: 'hidden' });
  await shot(page, 'admin-user-create');
  await page.click('[data-test="user-save"]');
  await page.locator('[data-test="user-form"]').waitFor({ state: 'detached' });

  const row = page.locator('[data-test="user-table"] .el-table__body .el-table__row', { hasText: 'wang.wu' });
  await row.waitFor();
  assert.match(await row.innerText(), /东城区[\s\S]*网格员/);
  assert.match(await row.innerText(), /正常/);

  await page.locator('[data-test="user-more-wang.wu"]').click();
  await page.locator('[data-test="user-act-lock"]:visible').click();
  await page.locator('.el-message-box').getByRole('button', { name: '确定' }).click();
  await row.filter({ hasText: '已锁定' }).waitFor();
  await page.locator('.el-overlay-message-box').waitFor({ state: 'hidden' });
  await shot(page, 'admin-user-locked');
  const locked = await apiAs('sysadmin', 'GET', '/api/v1/users?q=wang.wu');
  assert.equal(locked.items[0].locked, true);

  await page.locator('[data-test="user-more-wang.wu"]').click();
  await page.locator('[data-test="user-act-unlock"]:visible').click();
  await page.locator('.el-message-box').getByRole('button', { name: '确定' }).click();
  await row.filter({ hasText: '正常' }).waitFor();
  const unlocked = await apiAs('sysadmin', 'GET', '/api/v1/users?q=wang.wu');
  assert.equal(unlocked.items[0].locked, false);
  assertClean(page);
});

test('an enterprise with a wrong credit code check character is refused on that field', async () => {
  const page = await consoleAs('command', '/enterprises');
  await page.locator('[data-test="enterprise-table"]').waitFor();
  await page.click('[data-test="enterprise-new"]');
  const good = creditCode('91110101MA0000001');
  const bad = good.slice(0, 17) + (good[17] === '0' ? '1' : '0');
  await page.fill('[data-test="enterprise-name"]', '东城测试有限公司');
  await page.fill('[data-test="enterprise-credit"]', bad);
  await pickRegion(page, 'enterprise-form', '所属区划', ['东城区']);
  await page.click('[data-test="enterprise-save"]');
  const err = fieldError(page, 'enterprise-form', '统一社会信用代码');
  await err.waitFor();
  assert.match(await err.innerText(), /信用代码/);
  await shot(page, 'admin-enterprise-credit-code');

  await page.fill('[data-test="enterprise-credit"]', good);
  await page.click('[data-test="enterprise-save"]');
  await page.locator('[data-test="enterprise-form"]').waitFor({ state: 'detached' });
  await page.locator('[data-test="enterprise-table"]').getByText(good).waitFor();
  assertClean(page);
});

test('a department is created in a region and shown in the tree', async () => {
  const page = await consoleAs('sysadmin', '/departments');
  await page.locator('[data-test="department-table"]').waitFor();
  await page.click('[data-test="department-new"]');
  await page.fill('[data-test="department-name"]', '东城区防控办');
  await page.click('[data-test="department-save"]');
  const err = fieldError(page, 'department-form', '所属区划');
  await err.waitFor();
  await pickRegion(page, 'department-form', '所属区划', ['北京市', '市辖区', '东城区']);
  await page.click('[data-test="department-save"]');
  await page.locator('[data-test="department-form"]').waitFor({ state: 'detached' });
  const row = page.locator('[data-test="department-table"] .el-table__row', { hasText: '东城区防控办' });
  await row.waitFor();
  assert.match(await row.innerText(), /东城区/);
  await shot(page, 'admin-department-created');
  assertClean(page);
});

test('a place with a blank name and a wrong phone: both fields marked at once, each cleared when changed, then saved masked', async () => {
  const page = await consoleAs('command', '/places');
  await page.locator('[data-test="place-table"]').waitFor();
  await page.click('[data-test="place-new"]');
  await page.fill('[data-test="place-name"]', '   ');
  await page.click('[data-test="place-kind"]');
  await page.locator('.el-select-dropdown__item:visible', { hasText: '小区' }).first().click();
  await pickRegion(page, 'place-form', '所属区划', ['东城区', '东华门街道', '多福巷社区']);
  await page.fill('[data-test="place-phone"]', '1380013800');
  await page.click('[data-test="place-save"]');
  const err = fieldError(page, 'place-form', '联系人手机');
  const nameErr = fieldError(page, 'place-form', '场所名称');
  await err.waitFor();
  await nameErr.waitFor();
  assert.match(await err.innerText(), /手机/);
  assert.match(await nameErr.innerText(), /场所名称/);
  await shot(page, 'admin-place-two-errors');
  // typing the name clears that field's error at once; the phone's stays
  await page.fill('[data-test="place-name"]', '多福巷小区');
  await nameErr.waitFor({ state: 'detached' });
  assert.match(await err.innerText(), /手机/);
  await page.fill('[data-test="place-phone"]', '13800138000');
  await err.waitFor({ state: 'detached' });
  await page.click('[data-test="place-save"]');
  await page.locator('[data-test="place-form"]').waitFor({ state: 'detached' });
  const row = page.locator('[data-test="place-table"] .el-table__row', { hasText: '多福巷小区' });
  await row.waitFor();
  assert.match(await row.innerText(), /138\*{4}8000/);
  assertClean(page);
});
