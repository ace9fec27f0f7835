// Medical resources (docs/supplies.md "Medical resources", src/medical/):
// places registered as institutions (定点医院, 发热门诊, 方舱医院), their
// beds, ICU beds and testing capacity reported by hospital staff with
// history, the free-bed level, the proposals for a transfer to hospital
// (a free bed, nearest first, the most free first at equal distance), the
// one-map's medical layer and card, and scope throughout.
// One server; the tests build on each other's data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCityWith, expectError, auditEntries, waitForAudit } from './lib.mjs';

const PW = 'Passw0rd!medical';
const DISTRICT = '110101000000'; // 东城区
const STREET = '110101001000'; // 东华门街道
const COMMUNITY = '110101001001'; // 多福巷社区
const OTHER_STREET = '110101002000'; // 景山街道
const WEST = '110102001001'; // 府右街社区, 西城区
let ctx, cc, ccWest, cs, hs, leader, auditor;
const P = {}; // place ids by key

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}
const place = async (name, kind, region, pos) =>
  (await ok(cc.post('/api/v1/places', { name, kind, region_code: region, ...(pos ? { lng: pos[0], lat: pos[1] } : {}) }), 201)).id;
const figures = (total, occupied, extra = {}) => ({ beds_total: total, beds_occupied: occupied, icu_total: 10, icu_free: 2, testing_per_day: 2000, ...extra });
const wb = async (c) => Object.fromEntries((await ok(c.get('/api/v1/workbench'))).entries.filter((e) => e.key.startsWith('medical_')).map((e) => [e.key, e.count]));
const listed = async (client, q = '') => (await ok(client.get(`/api/v1/medical/institutions${q}`))).items;

before(async () => {
  ctx = await startCityWith(
    {
      m_cc: ['command_center', DISTRICT],
      m_cc_west: ['command_center', '110102000000'],
      m_cs: ['community_staff', COMMUNITY],
      m_hs: ['hospital_staff', STREET],
      m_leader: ['leader', DISTRICT],
      m_auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ m_cc: cc, m_cc_west: ccWest, m_cs: cs, m_hs: hs, m_leader: leader, m_auditor: auditor } = ctx.as);
});
after(async () => { await ctx?.stop(); });

test('places registered as institutions; bad input, duplicates, scope and permissions refused', async () => {
  P.near = await place('东华门定点医院', 'designated_hospital', STREET, [116.41, 39.91]);
  P.twin = await place('东华门第二医院', 'hospital', STREET, [116.41, 39.91]);
  P.far = await place('东城方舱医院', 'other', DISTRICT, null); // no position, the district no centre
  P.clinic = await place('景山发热门诊', 'fever_clinic', OTHER_STREET, [116.39, 39.92]);
  P.quiet = await place('东华门社区卫生服务中心', 'hospital', STREET, [116.42, 39.9]); // a hospital never registered
  P.school = await place('多福巷小学', 'school', COMMUNITY, null);
  await ok(cc.post('/api/v1/medical/institutions', { place_id: P.near, kind: 'designated_hospital' }), 201);
  await ok(cc.post('/api/v1/medical/institutions', { place_id: P.twin, kind: 'designated_hospital' }), 201);
  await ok(cc.post('/api/v1/medical/institutions', { place_id: P.far, kind: 'fangcang' }), 201);
  await ok(cc.post('/api/v1/medical/institutions', { place_id: P.clinic, kind: 'fever_clinic' }), 201);

  expectError(await cc.post('/api/v1/medical/institutions', { place_id: P.near, kind: 'fangcang' }), 409, 'duplicate', 'place_id');
  expectError(await cc.post('/api/v1/medical/institutions', { place_id: 'x1', kind: 'fangcang' }), 400, 'invalid_id', 'place_id');
  expectError(await cc.post('/api/v1/medical/institutions', { place_id: P.school, kind: 'clinic' }), 400, 'invalid_value', 'kind');
  expectError(await cc.post('/api/v1/medical/institutions', { kind: 'fangcang' }), 400, 'required', 'place_id');
  expectError(await cc.post('/api/v1/medical/institutions', { place_id: P.school, kind: 'fangcang', beds: 3 }), 400, 'unknown_field', 'beds');
  expectError(await cc.post('/api/v1/medical/institutions', { place_id: '99999999', kind: 'fangcang' }), 404, 'not_found');
  expectError(await ccWest.post('/api/v1/medical/institutions', { place_id: P.school, kind: 'fangcang' }), 404, 'not_found');
  expectError(await cs.post('/api/v1/medical/institutions', { place_id: P.school, kind: 'fangcang' }), 403, 'forbidden');
  expectError(await hs.post('/api/v1/medical/institutions', { place_id: P.school, kind: 'fangcang' }), 403, 'forbidden');

  const all = await listed(leader);
  assert.deepEqual(all.map((i) => i.name).sort(), ['东城方舱医院', '东华门定点医院', '东华门第二医院', '景山发热门诊'].sort());
  const fc = all.find((i) => i.id === P.far);
  assert.equal(fc.kind_name, '方舱医院');
  assert.equal(fc.region_name, '东城区');
  assert.equal(fc.level, 'unknown');
  assert.equal(fc.free_ratio, null);
  assert.equal(fc.reported_at, null);
  assert.equal(fc.reported_today, false);
  assert.deepEqual((await listed(leader, '?kind=fever_clinic')).map((i) => i.name), ['景山发热门诊']);
  expectError(await leader.get('/api/v1/medical/institutions?kind=clinic'), 400, 'invalid_parameter', 'kind');
  // scope: the hospital staff of 东华门街道 see its two; another district none
  assert.deepEqual((await listed(hs)).map((i) => i.id).sort(), [P.near, P.twin].sort());
  assert.equal((await listed(ccWest)).length, 0);
  // the workbench: none reported yet
  assert.deepEqual(await wb(cc), { medical_full: 0, medical_unreported: 4 });
  assert.deepEqual(await wb(hs), { medical_full: 0, medical_unreported: 2 });
  assert.deepEqual(await wb(leader), { medical_full: 0 }); // reads, does not report
  // the phone (床位填报, web/mobile StaffMedical.vue): hospital staff hold medical.report, the
  // page's entry, and the to-do leads to it
  const me = (await ok(hs.get('/api/v1/me')));
  assert.ok(me.permissions.includes('medical.report'));
  assert.deepEqual(me.roles.map((r) => r.key), ['hospital_staff']);
  const todo = (await ok(hs.get('/api/v1/workbench'))).entries.find((e) => e.key === 'medical_unreported');
  assert.equal(todo.mobile, '/staff/medical');
  assert.equal(todo.title, '今日未填报床位的医疗机构');
  const audits = await auditEntries(auditor, 'medical.institution.create', P.near);
  assert.equal(audits.filter((a) => a.result === 'ok').length, 1);
});

test('hospital staff report beds, ICU beds and testing capacity with history; bad input changes nothing', async () => {
  await ok(hs.post(`/api/v1/medical/institutions/${P.near}/reports`, figures(100, 70)), 201);
  await ok(hs.post(`/api/v1/medical/institutions/${P.near}/reports`, figures(100, 60, { note: '出院 10 人' })), 201);
  await ok(hs.post(`/api/v1/medical/institutions/${P.twin}/reports`, figures(50, 5, { icu_total: 4, icu_free: 4, testing_per_day: 0 })), 201);
  await ok(cc.post(`/api/v1/medical/institutions/${P.far}/reports`, figures(200, 180, { icu_total: 0, icu_free: 0 })), 201);
  await ok(cc.post(`/api/v1/medical/institutions/${P.clinic}/reports`, figures(20, 20)), 201);

  const url = `/api/v1/medical/institutions/${P.near}/reports`;
  expectError(await hs.post(url, figures(100, 101)), 400, 'out_of_range', 'beds_occupied');
  expectError(await hs.post(url, figures(100, 10, { icu_free: 11 })), 400, 'out_of_range', 'icu_free');
  expectError(await hs.post(url, figures(-1, 0)), 400, 'out_of_range', 'beds_total');
  expectError(await hs.post(url, figures(100001, 0)), 400, 'out_of_range', 'beds_total');
  expectError(await hs.post(url, { beds_total: 10, beds_occupied: 1, icu_total: 1, icu_free: 1 }), 400, 'required', 'testing_per_day');
  expectError(await hs.post(url, figures('十', 1)), 400, 'invalid_type', 'beds_total');
  const bad = await hs.post(url, figures(10, 1, { note: '坏\u0001注' }));
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.field, 'note');
  expectError(await hs.post(url, figures(10, 1, { note: 'x'.repeat(201) })), 400, 'too_long', 'note');
  assert.equal((await hs.post('/api/v1/medical/institutions/abc/reports', figures(10, 1))).status, 404); // no such route
  // outside the staff's street, or not an institution at all: as one that does not exist
  expectError(await hs.post(`/api/v1/medical/institutions/${P.clinic}/reports`, figures(20, 0)), 404, 'not_found');
  expectError(await cc.post(`/api/v1/medical/institutions/${P.school}/reports`, figures(20, 0)), 404, 'not_found');
  expectError(await cs.post(url, figures(100, 0)), 403, 'forbidden');
  expectError(await leader.post(url, figures(100, 0)), 403, 'forbidden');

  const near = (await listed(cc)).find((i) => i.id === P.near);
  assert.equal(near.beds_total, 100);
  assert.equal(near.beds_occupied, 60);
  assert.equal(near.beds_free, 40);
  assert.equal(near.icu_free, 2);
  assert.equal(near.testing_per_day, 2000);
  assert.equal(near.free_ratio, 40);
  assert.equal(near.level, 'ample');
  assert.equal(near.level_name, '床位充足');
  assert.ok(near.reported_at > 0);
  assert.equal(near.reported_today, true); // the phone page's 今日已填报
  const levels = Object.fromEntries((await listed(cc)).map((i) => [i.name, i.level]));
  assert.deepEqual(levels, { 东华门定点医院: 'ample', 东华门第二医院: 'ample', 东城方舱医院: 'tight', 景山发热门诊: 'full' });

  const hist = (await ok(leader.get(url))).items;
  assert.deepEqual(hist.map((h) => h.beds_occupied), [60, 70]); // newest first, the refused ones absent
  assert.equal(hist[0].note, '出院 10 人');
  assert.equal(hist[0].reported_by, 'm_hs');
  expectError(await ccWest.get(url), 404, 'not_found');
  expectError(await hs.get(`/api/v1/medical/institutions/${P.clinic}/reports`), 404, 'not_found');
  // the workbench: the full clinic; everything reported today
  assert.deepEqual(await wb(cc), { medical_full: 1, medical_unreported: 0 });
  assert.deepEqual(await wb(hs), { medical_full: 0, medical_unreported: 0 });
  const audits = await auditEntries(auditor, 'medical.report', P.near);
  assert.ok(audits.filter((a) => a.result === 'ok').length >= 2);
});

test('proposals: a free bed in the district, nearest first, the most free first at equal distance', async () => {
  await ok(cc.patch(`/api/v1/regions/${COMMUNITY}`, { center: [116.4, 39.91] }));
  const items = (await ok(cs.get(`/api/v1/medical/proposals?region=${COMMUNITY}`))).items;
  // twin (90 % free) and near (40 %) share a position; the fangcang has none; the full clinic is left out
  assert.deepEqual(items.map((i) => i.name), ['东华门第二医院', '东华门定点医院', '东城方舱医院']);
  assert.ok(Math.abs(items[0].distance_km - 0.9) < 0.11, `${items[0].distance_km}`);
  assert.equal(items[2].distance_km, null);
  assert.equal(items[1].beds_free, 40);
  // without region=: the caller's own region
  assert.deepEqual((await ok(cs.get('/api/v1/medical/proposals'))).items.map((i) => i.id), items.map((i) => i.id));
  // a region below the community (its grid) walks up to a centre
  assert.equal((await ok(cs.get('/api/v1/medical/proposals?region=110101001001001'))).items[0].name, '东华门第二医院');
  // the near one fills up: it drops out
  await ok(hs.post(`/api/v1/medical/institutions/${P.twin}/reports`, figures(50, 50)), 201);
  assert.deepEqual((await ok(cs.get(`/api/v1/medical/proposals?region=${COMMUNITY}`))).items.map((i) => i.name), ['东华门定点医院', '东城方舱医院']);
  // another district has none of them
  assert.equal((await ok(ccWest.get(`/api/v1/medical/proposals?region=${WEST}`))).items.length, 0);

  expectError(await cs.get('/api/v1/medical/proposals?region=abc'), 400, 'invalid_region', 'region');
  expectError(await cs.get(`/api/v1/medical/proposals?region=${STREET}`), 404, 'not_found');
  expectError(await ccWest.get(`/api/v1/medical/proposals?region=${COMMUNITY}`), 404, 'not_found');
  expectError(await cc.get('/api/v1/medical/proposals?region=110101009000'), 404, 'not_found');
  const refused = await waitForAudit(auditor, 'action=medical.proposals', (a) => a.result === 'not_found');
  assert.ok(refused.some((a) => a.result === 'not_found'));
});

test('the one-map: the medical layer carries the figures and the level, the card the rows', async () => {
  const fc = await ok(leader.get(`/api/v1/map/layers/medical?region=${DISTRICT}`));
  const by = Object.fromEntries(fc.features.map((f) => [f.properties.name, f.properties]));
  assert.equal(by['东华门定点医院'].level, 'ample');
  assert.equal(by['东华门定点医院'].beds_free, 40);
  assert.equal(by['东华门定点医院'].medical_kind_label, '定点医院');
  assert.equal(by['东华门第二医院'].level, 'full');
  assert.equal(by['景山发热门诊'].level_label, '床位已满');
  // a registry hospital never registered is on the layer without figures
  assert.equal(by['东华门社区卫生服务中心'].level, undefined);
  assert.ok(!by['多福巷小学']);
  assert.equal(fc.unplaced, 1); // the fangcang: no position, no centre
  const card = await ok(leader.get(`/api/v1/map/card?kind=place&id=${P.near}`));
  const rows = Object.fromEntries(card.rows.map((r) => [r.label, r.value]));
  assert.equal(rows['空床位'], 40);
  assert.equal(rows['总床位'], 100);
  assert.equal(rows['ICU空闲/总数'], '2/10');
  assert.equal(rows['床位余量'], '床位充足');
  assert.equal(card.level, 'ample');
});
