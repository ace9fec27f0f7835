// Three duties on the staff phone behind their home tiles: a doctor's round
// (巡查与体征检查: the due list by urgency, a check, the person moves to
// 今日已查), a checkpoint's 出入登记 (a manual entry allowed, one refused
// with its reason, both in the gate's day with its counts), a laboratory's
// 检测结果录入 (a received box's tubes marked negative and positive, the
// pooled positive's members sent to retests, today's results listed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, assertClean, shot, adoptSession, residentId } from './lib.mjs';
import { startCityWith, CITY_STAFF } from '../api/lib.mjs';

const PW = 'Staff-duty-2026!';
const COMMUNITY = '110101001001';
const H = 3600e3;
let ctx, browser, cc, doctor, gate, lab, staff, courier;
let seq = 0;
const rid = () => residentId('110101', '19660606', 800 + ++seq * 2);

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

async function person(name) {
  const id_number = rid();
  const id = (await ok(cc.post('/api/v1/persons', { name, id_number, region_code: COMMUNITY, address: '多福巷8号楼2单元301' }), 201)).id;
  return { id, id_number, name };
}

before(async () => {
  ctx = await startCityWith(
    {
      ...CITY_STAFF,
      admin: ['system_admin', '110100000000'],
      lab: ['lab', '110101000000'],
      staff: ['site_staff', '110101001000'],
      courier: ['courier', '110101000000'],
    },
    PW,
  );
  ({ cc_dc: cc, doctor_dc: doctor, gate_dc: gate, lab, staff, courier } = ctx.as);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);
const input = (page, name) => page.locator(`[data-test=${name}] input, [data-test=${name}] textarea`);

async function phoneOf(client) {
  const page = await openPage(browser, { mobile: true });
  await adoptSession(page, client);
  await page.goto(ctx.url + '/mobile/#/staff');
  await field(page, 'staff-entries').waitFor();
  return page;
}

test('a doctor\'s round: the due list by urgency; a check moves the person to 今日已查', async () => {
  const late = await person('赵逾期');
  const fresh = await person('钱新观');
  const lateObs = await ok(cc.post('/api/v1/observations', { person_id: late.id, kind: 'home_isolation', source: 'grid_patrol', start_at: Date.now() - 20 * H }), 201);
  await ok(cc.post('/api/v1/observations', { person_id: fresh.id, kind: 'home_observation', source: 'grid_patrol', start_at: Date.now() - H }), 201);

  const page = await phoneOf(doctor);
  await field(page, 'entry-patrol').click();
  await page.waitForURL(/#\/staff\/patrol$/);
  await field(page, 'patrol-due').nth(1).waitFor();
  assert.deepEqual(await field(page, 'patrol-name').allInnerTexts(), ['赵*期', '钱*观'], 'the overdue one first');
  assert.deepEqual(await field(page, 'patrol-urgency').allInnerTexts(), ['已逾期', '今日待查']);
  const first = field(page, 'patrol-due').first();
  assert.match(await first.locator('[data-test=patrol-day-n]').innerText(), /居家隔离 · 第 \d 天 \/ 共 14 天/);
  assert.match(await first.locator('[data-test=patrol-where]').innerText(), /多福巷社区/);
  assert.equal(await first.locator('[data-test=patrol-temp]').innerText(), '未核查');
  assert.match(await field(page, 'patrol-tab').innerText(), /今日待查 2[\s\S]*今日已查 0/);
  await shot(page, 'duty-patrol-due');

  await first.click();
  await page.waitForURL(new RegExp(`#/staff/check\\?observation=${lateObs.id}&back=patrol$`));
  await field(page, 'check-subject').filter({ hasText: '赵*期' }).waitFor();
  await input(page, 'c-temperature').fill('36.6');
  await field(page, 'c-submit').click();
  await page.waitForURL(/#\/staff\/patrol$/);
  await page.locator('[data-test=patrol-tab]', { hasText: '今日待查 1' }).waitFor();
  assert.deepEqual(await field(page, 'patrol-name').allInnerTexts(), ['钱*观'], 'no longer due');
  await page.locator('.van-tab', { hasText: '今日已查' }).click();
  await field(page, 'patrol-checked').first().waitFor();
  assert.deepEqual(await field(page, 'patrol-name').allInnerTexts(), ['赵*期']);
  assert.equal(await field(page, 'patrol-temp').first().innerText(), '36.6℃');
  await shot(page, 'duty-patrol-checked');
  assertClean(page);
});

test('a checkpoint\'s 出入登记: a manual entry allowed, a red code refused with its reason, both listed with the day\'s counts', async () => {
  const place = await ok(cc.post('/api/v1/places', { name: '多福巷小区', kind: 'community', region_code: COMMUNITY }), 201);
  await ok(cc.post('/api/v1/venues', { name: '多福巷小区东门', kind: 'community_gate', place_id: place.id }), 201);
  const elder = await person('孙老伯');
  const iso = await person('李隔离');
  await ok(cc.post('/api/v1/observations', { person_id: iso.id, kind: 'home_isolation', source: 'grid_patrol', start_at: Date.now() - 1000 }), 201);

  const page = await phoneOf(gate);
  await field(page, 'entry-access-log').click();
  await page.waitForURL(/#\/staff\/access-log$/);
  // the only gate in scope is chosen
  await page.waitForFunction(() => document.querySelector('[data-test=log-venue] input')?.value === '多福巷小区东门');
  await page.getByText('今日暂无出入记录').waitFor();

  await field(page, 'log-new').click();
  // a wrong name is told at its field; nothing recorded
  await input(page, 'm-name').fill('孙老汉');
  await input(page, 'm-id_number').fill(elder.id_number);
  await field(page, 'm-submit').click();
  await field(page, 'm-name').locator('.van-field__error-message').filter({ hasText: '姓名与身份证号码登记的不一致' }).waitFor();
  await input(page, 'm-name').fill(elder.name);
  await input(page, 'm-phone').fill('13912340002');
  await input(page, 'm-temperature').fill('36.5');
  await input(page, 'm-note').fill('买菜回家');
  await field(page, 'm-submit').click();
  await field(page, 'log-result').filter({ hasText: '放行' }).waitFor();
  assert.match(await field(page, 'log-result').innerText(), /孙\*伯 · 进入 · 健康码绿码/);
  await shot(page, 'duty-access-manual-pass');

  await field(page, 'log-again').click();
  await input(page, 'm-name').fill(iso.name);
  await input(page, 'm-id_number').fill(iso.id_number);
  await field(page, 'm-direction-out').click();
  await field(page, 'm-submit').click();
  await field(page, 'log-result').filter({ hasText: '禁止通行' }).waitFor();
  assert.equal(await field(page, 'log-result-reason').innerText(), '健康码颜色不允许通行');
  await shot(page, 'duty-access-manual-refused');
  await page.locator('[data-test=log-form] .van-popup__close-icon').click();

  await field(page, 'log-item').nth(1).waitFor();
  assert.deepEqual(await field(page, 'log-name').allInnerTexts(), ['李*离', '孙*伯'], 'newest first');
  assert.deepEqual(await field(page, 'log-direction').allInnerTexts(), ['离开', '进入']);
  assert.deepEqual(await field(page, 'log-verdict').allInnerTexts(), ['拒绝', '放行']);
  assert.equal(await field(page, 'log-reason').innerText(), '健康码颜色不允许通行');
  assert.match(await field(page, 'log-item').nth(1).innerText(), /36\.5℃/);
  assert.deepEqual([await field(page, 'log-in').innerText(), await field(page, 'log-out').innerText(), await field(page, 'log-denied').innerText()], ['1', '0', '1']);
  await shot(page, 'duty-access-log');
  assertClean(page);
});

test('a laboratory enters a received box\'s results: a negative single tube, a positive pool sends its members to retests', async () => {
  // the lab's institution is its user's department
  const admin = ctx.as.admin;
  const dept = (await ok(admin.post('/api/v1/departments', { name: '东城区疾控中心实验室', region_code: '110101000000' }), 201)).id;
  const users = (await admin.get('/api/v1/users?page_size=100')).body.items;
  await ok(admin.patch(`/api/v1/users/${users.find((u) => u.username === 'lab').id}`, { department_id: dept }));
  const site = await ok(cc.post('/api/v1/nat/sites', { name: '多福巷核酸点', kind: 'fixed', region_code: COMMUNITY }), 201);
  await ok(staff.post(`/api/v1/nat/sites/${site.id}/clock-in`, {}), 201);
  const [a, b, c] = [await person('周单管'), await person('吴混一'), await person('郑混二')];
  await ok(staff.post('/api/v1/nat/samples', { id_number: a.id_number, barcode: 'DUTY-S0001' }), 201);
  await ok(staff.post('/api/v1/nat/samples', { id_number: b.id_number, barcode: 'DUTY-P0001', tube_kind: 'pool5' }), 201);
  await ok(staff.post('/api/v1/nat/samples', { id_number: c.id_number, barcode: 'DUTY-P0001', tube_kind: 'pool5' }), 201);
  await ok(staff.post('/api/v1/nat/tubes/DUTY-P0001/close', {}));
  await ok(staff.post('/api/v1/nat/boxes', { barcode: 'DUTY-BOX1' }), 201);
  for (const tube of ['DUTY-S0001', 'DUTY-P0001']) await ok(staff.post('/api/v1/nat/boxes/DUTY-BOX1/tubes', { tube }));
  await ok(staff.post('/api/v1/nat/boxes/DUTY-BOX1/seal'));
  await ok(courier.post('/api/v1/nat/boxes/DUTY-BOX1/take', {}));
  await ok(lab.post('/api/v1/nat/boxes/DUTY-BOX1/receive', {}));

  const page = await phoneOf(lab);
  await field(page, 'entry-lab-results').click();
  await page.waitForURL(/#\/staff\/lab-results$/);
  await page.getByText('今日尚未录入结果').waitFor();
  // an unknown code is told
  await input(page, 'lab-code').fill('NO-SUCH-BOX');
  await field(page, 'lab-find').click();
  await field(page, 'lab-code').locator('.van-field__error-message').filter({ hasText: '未找到该转运箱或试管' }).waitFor();

  await input(page, 'lab-code').fill('DUTY-BOX1');
  await field(page, 'lab-find').click();
  await field(page, 'lab-tube').nth(1).waitFor();
  await page.getByText('转运箱 DUTY-BOX1 · 已签收 · 2 管').waitFor();
  assert.equal(await field(page, 'lab-confirm').isDisabled(), true, 'nothing marked yet');
  await field(page, 'lab-neg-DUTY-S0001').click();
  await field(page, 'lab-pos-DUTY-P0001').click();
  await shot(page, 'duty-lab-marked');
  await field(page, 'lab-confirm').click();
  const dialog = page.locator('.van-dialog');
  await dialog.filter({ hasText: '阴性 1 管，阳性 1 管' }).waitFor();
  assert.match(await dialog.innerText(), /混管阳性的，管内人员将转为单管复核/);
  await dialog.locator('.van-dialog__confirm').click();
  await page.locator('.van-toast', { hasText: '已录入 2 管，2 人需复核或重采' }).waitFor();
  await field(page, 'lab-today-item').nth(1).waitFor();
  assert.deepEqual((await field(page, 'lab-tube-result').allInnerTexts()).sort(), ['阳性', '阴性']);
  await page.getByText('今日已录入 2').waitFor();
  const single = field(page, 'lab-today-item').filter({ hasText: 'DUTY-S0001' });
  assert.match(await single.innerText(), /阴性/);
  // the server agrees: the pool's two members are to be retested
  const retests = (await ok(cc.get('/api/v1/nat/retests?page_size=50'))).items.filter((x) => [b.id, c.id].includes(x.person_id));
  assert.equal(retests.length, 2);
  await shot(page, 'duty-lab-done');
  assertClean(page);
});
