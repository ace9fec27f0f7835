// The people list's health-code colour: a coloured tag with its Chinese name
// in each row, a filter by colour, and an export with full values offered
// only to users who may reveal them.
//
// Written against the contract helper "person" builds in parallel (issue 8):
// GET /api/v1/persons?code_color=green|yellow|red, list items carrying
// `code_color` and `code_color_name`, and GET /api/v1/persons?format=csv&
// reveal=1 for users with person.reveal. It passes once both branches are
// merged; on a server without that API the colour column shows dashes and
// this file fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { selectors } from 'playwright-core';
import { startServer, launch, openPage, adoptSession, assertClean, shot, CITY_CSV, writeTmp, residentId } from './lib.mjs';

selectors.setTestIdAttribute('data-test');

const PW = 'Passw0rd!colour';
const DC = '110101000000';
const COMMUNITY = '110101001001';
let ctx, browser, cc, doctor;
const people = {};

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'cl_cc', '--password', PW, '--role', 'command_center', '--region', DC]);
      c.must(['user', 'add', '--username', 'cl_doctor', '--password', PW, '--role', 'doctor', '--region', DC]);
    },
  });
  cc = ctx.client();
  await cc.login('cl_cc', PW);
  doctor = ctx.client();
  await doctor.login('cl_doctor', PW);
  for (const [key, name, seq] of [['green', '林绿码', 61], ['yellow', '黄发热', 63]]) {
    const body = { name, id_number: residentId('110101', '19880808', seq), region_code: COMMUNITY };
    const r = await cc.post('/api/v1/persons', body);
    assert.equal(r.status, 201, r.text);
    people[key] = { ...body, id: r.body.id };
  }
  // a fever makes the code yellow (the default rules)
  const t = await cc.post(`/api/v1/persons/${people.yellow.id}/temperatures`, { value: 38.6, source: 'manual' });
  assert.equal(t.status, 201, t.text);
  for (let i = 0; i < 40; i++) {
    const c = await cc.get(`/api/v1/persons/${people.yellow.id}/code`);
    if (c.body?.colour === 'yellow') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await ctx?.stop();
});

async function peoplePage(client) {
  const page = await openPage(browser);
  await adoptSession(page, client);
  await page.goto(`${ctx.url}/console/#/people`);
  await page.getByTestId('person-table').locator('.el-table__body .el-table__row').first().waitFor();
  return page;
}

test('each row shows its code colour by name, and the list filters by colour', async () => {
  const page = await peoplePage(cc);
  const colours = await page.getByTestId('cell-code-color').allInnerTexts();
  assert.deepEqual([...colours].sort(), ['绿码', '黄码'].sort(), colours.join());
  assert.match(await page.getByTestId('cell-code-color').filter({ hasText: '黄码' }).getAttribute('class'), /warning/);
  await page.getByTestId('filter-code-color').click();
  await page.getByTestId('code-color-yellow').filter({ visible: true }).click();
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('/api/v1/persons?') && r.url().includes('code_color=yellow')),
    page.getByTestId('search-submit').click(),
  ]);
  await page.getByTestId('person-total').filter({ hasText: '共 1 人' }).waitFor();
  assert.equal(await page.getByTestId('cell-name').innerText(), '黄*热');
  assert.equal(await page.getByTestId('cell-code-color').innerText(), '黄码');
  await shot(page, 'people-code-colour-filter');
  assertClean(page);
});

test('the export with full values is offered to those who may reveal, and holds full values', async () => {
  const page = await peoplePage(cc);
  const full = page.getByTestId('person-export-full');
  assert.equal(await full.innerText(), '导出(完整信息)');
  const href = await full.getAttribute('href');
  assert.match(href, /format=csv/);
  assert.match(href, /reveal=1/);
  const [download] = await Promise.all([page.waitForEvent('download'), full.click()]);
  const text = Buffer.concat(await (await download.createReadStream()).toArray()).toString('utf8');
  assert.ok(text.includes(people.green.id_number), 'the full id number is in the file');
  assertClean(page);

  const doc = await peoplePage(doctor);
  assert.equal(await doc.getByTestId('person-export-full').count(), 0, 'no full export without person.reveal');
  assert.equal(await doc.getByTestId('person-export').count(), 1);
  assertClean(doc);
});
