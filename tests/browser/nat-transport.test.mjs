// Transport (issue 10 part 3, docs/nat.md "Transport"), end to end in
// Chromium: a site worker opens 核酸装箱 on the phone, scans a box, packs
// two closed tubes (an open one is refused under the tube field), seals the
// box; a courier opens 转运交接 and takes it over (the phone's position goes
// with it); the laboratory opens 样本签收, signs for it and sees its tubes.
// The console lists the box received and shows its chain of hand-overs with
// names and times, never ids.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage, assertClean, shot, adoptSession, consolePage, residentId } from './lib.mjs';
import { startCityWith } from '../api/lib.mjs';

const PW = 'Nat-transport-2026!';
let ctx, browser, cc, staff, courier, lab;

before(async () => {
  ctx = await startCityWith(
    {
      cc_dc: ['command_center', '110101000000'],
      staff_dc: ['site_staff', '110101001000'],
      courier_dc: ['courier', '110101001000'],
      lab_dc: ['lab', '110101000000'],
    },
    PW,
  );
  ({ cc_dc: cc, staff_dc: staff, courier_dc: courier, lab_dc: lab } = ctx.as);
  const r = await cc.post('/api/v1/nat/sites', { name: '多福巷核酸采样点', kind: 'fixed', region_code: '110101001001', lng: 116.4, lat: 39.91 });
  assert.equal(r.status, 201, r.text);
  assert.equal((await staff.post(`/api/v1/nat/sites/${r.body.id}/clock-in`, {})).status, 201);
  // two closed single tubes and an open pooled one, sampled by id number
  let n = 0;
  for (const [barcode, kind] of [['TB-000001', 'single'], ['TB-000002', 'single'], ['TB-OPEN01', 'pool5']]) {
    const id_number = residentId('110101', '19850505', 70 + ++n * 2);
    assert.equal((await cc.post('/api/v1/persons', { name: `转运居民${n}`, id_number, region_code: '110101001001' })).status, 201);
    const s = await staff.post('/api/v1/nat/samples', { id_number, barcode, tube_kind: kind });
    assert.equal(s.status, 201, s.text);
  }
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await ctx?.stop();
});

const field = (page, name) => page.locator(`[data-test=${name}]`);
const value = (page, name) => field(page, name).locator('.van-cell__value').innerText();

test('pack at the site, take over as courier, sign for at the laboratory, on the phones', async () => {
  // the site worker packs and seals
  const phone = await openPage(browser, { mobile: true });
  await adoptSession(phone, staff);
  await phone.goto(ctx.url + '/mobile/#/staff');
  await field(phone, 'entry-nat-pack').click();
  await phone.waitForURL(/#\/staff\/nat\/pack$/);
  await field(phone, 'box-pack-barcode').locator('input').fill('BOX-DC-0001');
  await field(phone, 'box-pack-go').click();
  await field(phone, 'box-pack-card').waitFor();
  assert.equal(await value(phone, 'box-state'), '已装箱（未封箱）');
  for (const t of ['TB-000001', 'TB-000002']) {
    await field(phone, 'box-pack-tube').locator('input').fill(t);
    await field(phone, 'box-pack-add').click();
    await field(phone, 'box-tube-list').filter({ hasText: t }).waitFor();
  }
  assert.equal(await value(phone, 'box-tubes'), '2');
  // an open tube: refused under the tube field, nothing packed
  await field(phone, 'box-pack-tube').locator('input').fill('TB-OPEN01');
  await field(phone, 'box-pack-add').click();
  await field(phone, 'box-pack-tube').locator('.van-field__error-message').filter({ hasText: '尚未封管' }).waitFor();
  assert.equal(await value(phone, 'box-tubes'), '2');
  await shot(phone, 'mobile-nat-pack');
  await field(phone, 'box-pack-seal').click();
  await phone.locator('.van-dialog').filter({ hasText: '共 2 支试管' }).locator('.van-dialog__confirm').click();
  await field(phone, 'box-pack-sealed').waitFor();
  assert.equal(await value(phone, 'box-state'), '已装箱');
  assertClean(phone);
  await phone.context().close();

  // the courier takes it over
  const c = await openPage(browser, { mobile: true });
  await c.context().grantPermissions(['geolocation'], { origin: ctx.url });
  await c.context().setGeolocation({ latitude: 39.915, longitude: 116.405 });
  await adoptSession(c, courier);
  await c.goto(ctx.url + '/mobile/#/staff');
  await field(c, 'entry-nat-transport').click();
  await c.waitForURL(/#\/staff\/nat\/transport$/);
  await field(c, 'box-take-barcode').locator('input').fill('BOX-DC-0001');
  await field(c, 'box-take-go').click();
  await field(c, 'box-take-card').waitFor();
  assert.equal(await value(c, 'box-state'), '转运中');
  assert.equal(await value(c, 'box-holder'), 'courier_dc');
  await field(c, 'box-take-transit').filter({ hasText: 'BOX-DC-0001' }).waitFor();
  // a second scan: already handed over, said on the box field
  await field(c, 'box-take-go').click();
  await field(c, 'box-take-barcode').locator('.van-field__error-message').filter({ hasText: '不能重复交接' }).waitFor();
  await shot(c, 'mobile-nat-transport');
  await c.context().close();

  // the laboratory signs for it and sees its tubes
  const l = await openPage(browser, { mobile: true });
  await adoptSession(l, lab);
  await l.goto(ctx.url + '/mobile/#/staff');
  await field(l, 'entry-nat-receive').click();
  await l.waitForURL(/#\/staff\/nat\/receive$/);
  await field(l, 'box-receive-barcode').locator('input').fill('BOX-DC-0001');
  await field(l, 'box-receive-go').click();
  await field(l, 'box-receive-card').waitFor();
  assert.equal(await value(l, 'box-state'), '已签收');
  const tubes = await field(l, 'box-tube-list').innerText();
  assert.match(tubes, /TB-000001[\s\S]*已签收/);
  assert.match(tubes, /TB-000002/);
  await shot(l, 'mobile-nat-receive');
  assertClean(l);
  await l.context().close();
});

test('the console lists the box received and shows its chain with names and times', async () => {
  const page = await consolePage(browser, ctx, '/nat/boxes', cc);
  const row = field(page, 'nat-box-table').locator('tbody tr').filter({ hasText: 'BOX-DC-0001' });
  await row.waitFor();
  assert.equal(await row.locator('[data-test=nat-box-state]').innerText(), '已签收');
  assert.match(await row.innerText(), /多福巷核酸采样点/);
  assert.match(await row.innerText(), /多福巷社区/);
  assert.match(await row.innerText(), /lab_dc/);
  await row.locator('[data-test=nat-box-open]').click();
  const drawer = field(page, 'nat-box-drawer');
  await field(page, 'nat-box-chain').waitFor();
  assert.deepEqual(await field(page, 'nat-box-chain-step').allInnerTexts(), [
    'staff_dc → courier_dc（转运中）',
    'courier_dc → lab_dc（已签收）',
  ]);
  assert.match(await drawer.innerText(), /位置 116\.40500, 39\.91500/);
  assert.match(await drawer.innerText(), /TB-000002/);
  // names, never ids
  const box = (await cc.get('/api/v1/nat/boxes/BOX-DC-0001')).body;
  assert.doesNotMatch(await drawer.innerText(), new RegExp(box.id));
  await shot(page, 'console-nat-box-chain');
  assertClean(page);
});
