// The city's testing-site list matched to the district's sites
// (/api/v1/nat/city-sites, 东软核酸数据匹配, issue 10): an xlsx made by
// openpyxl and a CSV imported with their row errors; exact names
// auto-matched, a near name far away left to review with its candidates,
// a site beyond the far limit ruled out; a person's confirm and reject
// kept across re-runs and re-imports; the re-run after the district's
// sites change; the look-up by city code and the city code on the site;
// scope (a street sees the city sites of its own sites); audit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startCityWith, CITY_STAFF, expectError, auditEntries } from './lib.mjs';

const PW = 'Nat-match-2024!';
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001'; // 多福巷社区
const S2 = '110101002000'; // 景山街道
const S2_C1 = '110101002001'; // 隆福寺社区
const PY = process.env.FK_PYTHON || '/usr/bin/python3';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const HEAD = ['点位编码*', '点位名称*', '所属区/街道', '地址', '经度', '纬度'];
let ctx, cc, street1, street2, leader, auditor;
const sites = {};

before(async () => {
  ctx = await startCityWith(
    { ...CITY_STAFF, street1: ['street_staff', S1], street2: ['street_staff', S2], leader: ['leader', '110101000000'] },
    PW,
  );
  ({ cc_dc: cc, street1, street2, leader, auditor } = ctx.as);
  const mk = async (key, body) => {
    const r = await cc.post('/api/v1/nat/sites', { kind: 'fixed', ...body });
    assert.equal(r.status, 201, r.text);
    sites[key] = r.body;
  };
  await mk('duofu', { name: '多福巷核酸检测点', region_code: S1_C1, lng: 116.4, lat: 39.91 });
  await mk('jingshan', { name: '景山公园采样点', region_code: S2_C1, lng: 116.397, lat: 39.925 });
  await mk('longfu', { name: '隆福寺核酸点', region_code: S2_C1, lng: 116.41, lat: 39.93 });
});

after(async () => {
  await ctx?.stop();
});

const PY_WRITE = `
import json, sys, openpyxl
spec = json.load(open(sys.argv[1], encoding='utf-8'))
wb = openpyxl.Workbook()
ws = wb.active
ws.title = spec.get('sheet') or '城市点位'
for row in spec['rows']:
    ws.append(row)
wb.save(spec['out'])
`;

let fileSeq = 0;
function xlsx(rows, sheet) {
  const py = path.join(ctx.dir, 'write.py');
  fs.writeFileSync(py, PY_WRITE);
  const out = path.join(ctx.dir, `city-${++fileSeq}.xlsx`), spec = `${out}.json`;
  fs.writeFileSync(spec, JSON.stringify({ rows, sheet, out }));
  execFileSync(PY, [py, spec]);
  return fs.readFileSync(out);
}

// The import is a job on the import worker: 202 {job_id, rows}, then the
// job's result (the counts and row errors) as `body`; a refusal as it came.
async function upload(buf, client = cc, type = XLSX) {
  const r = await client.post('/api/v1/nat/city-sites/import', typeof buf === 'string' ? buf : new Uint8Array(buf), { 'content-type': type });
  if (r.status !== 202) return r;
  assert.match(r.body.job_id, /^\d+$/);
  let j;
  for (let t = 0; t < 400; t++) {
    j = (await client.get(`/api/v1/jobs/${r.body.job_id}`)).body;
    if (j.status === 'done' || j.status === 'failed') break;
    await new Promise((res) => setTimeout(res, 50));
  }
  assert.equal(j.status, 'done', JSON.stringify(j));
  assert.equal(j.total, r.body.rows);
  return { status: r.status, text: JSON.stringify(j), rows: r.body.rows, body: { ...j.result, job_id: r.body.job_id } };
}

async function byCode(code, client = cc) {
  const r = await client.get(`/api/v1/nat/city-sites?q=${encodeURIComponent(code)}`);
  assert.equal(r.status, 200, r.text);
  const item = r.body.items.find((x) => x.code === code);
  if (!item) return null;
  const d = await client.get(`/api/v1/nat/city-sites/${item.id}`);
  assert.equal(d.status, 200, d.text);
  return d.body;
}

test('an xlsx import: exact names auto-match, a near name far away goes to review, far or unknown ones unmatched', async () => {
  const r = await upload(
    xlsx([
      HEAD,
      // the same name but for the suffix, 40 m away
      ['CS001', '多福巷核酸采样点', '东城区东华门街道', '多福巷1号', 116.4003, 39.9102],
      // 景山公园东门 vs 景山公园: a near name, about 1.5 km away
      ['CS002', '景山公园东门核酸点', '东城区景山街道', '', 116.397, 39.9385],
      ['CS003', '完全不同的地方', '东城区', '', null, null],
      // no position: the name alone decides
      ['CS004', '（隆福寺）核酸检测点', '东城区景山街道', '', null, null],
      // the exact name, 8 km away: ruled out
      ['CS005', '多福巷核酸点', '东城区', '', 116.5, 39.91],
    ]),
  );
  assert.equal(r.status, 202, r.text);
  assert.match(r.body.job_id, /^\d+$/);
  assert.equal(r.body.total, 5);
  assert.equal(r.body.created, 5);
  assert.equal(r.body.failed, 0);
  assert.equal(r.body.auto, 2);
  assert.equal(r.body.to_review, 1);
  assert.equal(r.body.unmatched, 2);
  assert.deepEqual(r.body.errors, []);

  const job = await cc.get(`/api/v1/jobs/${r.body.job_id}`);
  assert.equal(job.status, 200, job.text);
  assert.equal(job.body.kind, 'nat.city_import');
  assert.equal(job.body.status, 'done');
  assert.equal(job.body.result.created, 5);

  const c1 = await byCode('CS001');
  assert.equal(c1.state, 'auto');
  assert.equal(c1.state_label, '自动匹配');
  assert.equal(c1.site_id, sites.duofu.id);
  assert.equal(c1.site_name, '多福巷核酸检测点');
  assert.equal(c1.region_name, '多福巷社区');
  assert.equal(c1.candidates[0].site_id, sites.duofu.id);
  assert.equal(c1.candidates[0].name_score, 1);
  assert.ok(c1.candidates[0].distance > 0 && c1.candidates[0].distance < 100, JSON.stringify(c1.candidates));

  const c2 = await byCode('CS002');
  assert.equal(c2.state, 'to_review');
  assert.equal(c2.site_id, null);
  assert.equal(c2.region_name, '隆福寺社区'); // the best candidate's, for scope
  assert.equal(c2.candidates[0].site_id, sites.jingshan.id);
  assert.equal(c2.candidates[0].site_name, '景山公园采样点');
  assert.equal(c2.candidates[0].name_score, 0.75);
  assert.ok(c2.candidates[0].distance > 1400 && c2.candidates[0].distance < 1600, JSON.stringify(c2.candidates));
  assert.ok(c2.candidates[0].score < 0.85 && c2.candidates[0].score > 0.5, JSON.stringify(c2.candidates));

  const c3 = await byCode('CS003');
  assert.equal(c3.state, 'unmatched');
  assert.deepEqual(c3.candidates, []);
  assert.equal(c3.region_code, null);

  const c4 = await byCode('CS004');
  assert.equal(c4.state, 'auto');
  assert.equal(c4.site_id, sites.longfu.id);
  assert.equal(c4.candidates[0].distance, null);

  const c5 = await byCode('CS005');
  assert.equal(c5.state, 'unmatched', 'beyond the far limit the same name is ruled out');
});

test('the association: the look-up by city code and the city code on the district site', async () => {
  const r = await leader.get('/api/v1/nat/city-sites/lookup?code=CS001');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.city_site.code, 'CS001');
  assert.equal(r.body.site.id, sites.duofu.id);
  assert.equal(r.body.site.name, '多福巷核酸检测点');
  const pending = await cc.get('/api/v1/nat/city-sites/lookup?code=CS002');
  assert.equal(pending.status, 200, pending.text);
  assert.equal(pending.body.site, null);
  expectError(await cc.get('/api/v1/nat/city-sites/lookup?code=NOPE'), 404, 'not_found');
  expectError(await cc.get('/api/v1/nat/city-sites/lookup'), 400, 'required', 'code');
  const s = await cc.get(`/api/v1/nat/sites/${sites.duofu.id}`);
  assert.equal(s.body.city_code, 'CS001');
  const list = await cc.get('/api/v1/nat/sites?q=' + encodeURIComponent('景山'));
  assert.equal(list.body.items[0].city_code, null);
});

test('scope: a street sees the city sites of its own sites; the unmatched ones only the district', async () => {
  const l1 = await street1.get('/api/v1/nat/city-sites');
  assert.equal(l1.status, 200, l1.text);
  assert.deepEqual(l1.body.items.map((x) => x.code), ['CS001']);
  const l2 = await street2.get('/api/v1/nat/city-sites');
  assert.deepEqual(l2.body.items.map((x) => x.code), ['CS002', 'CS004']);
  const all = await cc.get('/api/v1/nat/city-sites');
  assert.equal(all.body.total, 5);
  const review = await cc.get('/api/v1/nat/city-sites?state=to_review');
  assert.deepEqual(review.body.items.map((x) => x.code), ['CS002']);
  expectError(await cc.get('/api/v1/nat/city-sites?state=maybe'), 400, 'invalid_parameter', 'state');
  const c1 = (await byCode('CS001')).id, c3 = (await byCode('CS003')).id;
  expectError(await street2.get(`/api/v1/nat/city-sites/${c1}`), 404, 'not_found');
  expectError(await street1.get(`/api/v1/nat/city-sites/${c3}`), 404, 'not_found');
  expectError(await street2.get('/api/v1/nat/city-sites/lookup?code=CS001'), 404, 'not_found');
  // reviewing needs nat.site
  const r = await leader.post(`/api/v1/nat/city-sites/${c1}/review`, { decision: 'none' });
  assert.equal(r.status, 403, r.text);
  assert.equal((await leader.post('/api/v1/nat/city-sites/import', 'x', { 'content-type': 'text/csv' })).status, 403);
});

test('review: a confirm is kept across re-runs and re-imports; bad decisions change nothing', async () => {
  const c2 = await byCode('CS002', street2);
  expectError(await street2.post(`/api/v1/nat/city-sites/${c2.id}/review`, { decision: 'confirm' }), 400, 'invalid_site', 'site_id');
  expectError(await street2.post(`/api/v1/nat/city-sites/${c2.id}/review`, { decision: 'maybe' }), 400, 'invalid_value', 'decision');
  // a site outside the reviewer's scope
  expectError(
    await street2.post(`/api/v1/nat/city-sites/${c2.id}/review`, { decision: 'confirm', site_id: sites.duofu.id }),
    400,
    'invalid_site',
    'site_id',
  );
  expectError(
    await street2.post(`/api/v1/nat/city-sites/${c2.id}/review`, { decision: 'confirm', site_id: sites.jingshan.id, version: c2.version + 1 }),
    409,
    'version_conflict',
  );
  assert.equal((await byCode('CS002')).state, 'to_review');

  const r = await street2.post(`/api/v1/nat/city-sites/${c2.id}/review`, { decision: 'confirm', site_id: sites.jingshan.id, version: c2.version });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.state, 'confirmed');
  assert.equal(r.body.state_label, '已确认');
  assert.equal(r.body.site_id, sites.jingshan.id);
  assert.equal(r.body.reviewed_by_name.length > 0, true);
  const audit = await auditEntries(auditor, 'nat.city.review', c2.id);
  assert.ok(audit.some((x) => x.result === 'ok' && x.detail === `decision=confirm site=${sites.jingshan.id}`), JSON.stringify(audit));
  assert.ok(audit.some((x) => x.result === 'version_conflict'), 'the refused review is audited');

  // CS005 has no district site: marked so by the district
  const c5 = await byCode('CS005');
  const none = await cc.post(`/api/v1/nat/city-sites/${c5.id}/review`, { decision: 'none' });
  assert.equal(none.status, 200, none.text);
  assert.equal(none.body.state, 'rejected');

  // a re-run and a re-import of the same rows keep both decisions
  const rerun = await cc.post('/api/v1/nat/city-sites/rematch', {});
  assert.equal(rerun.status, 200, rerun.text);
  assert.equal(rerun.body.matched, 1); // CS003 only: unmatched
  const again = await upload(
    xlsx([
      HEAD,
      ['CS002', '景山公园东门核酸点', '东城区景山街道', '', 116.397, 39.9385],
      ['CS005', '多福巷核酸点', '东城区', '', 116.5, 39.91],
    ]),
  );
  assert.equal(again.status, 202, again.text);
  assert.equal(again.body.updated, 2);
  assert.equal(again.body.created, 0);
  const after2 = await byCode('CS002');
  assert.equal(after2.state, 'confirmed');
  assert.equal(after2.site_id, sites.jingshan.id);
  assert.equal((await byCode('CS005')).state, 'rejected');
  assert.equal((await cc.get('/api/v1/nat/city-sites/lookup?code=CS002')).body.site.id, sites.jingshan.id);
});

test('re-run after the district sites change: a new site matches, a deleted site\'s auto match is redone', async () => {
  const r = await cc.post('/api/v1/nat/sites', { kind: 'temporary', name: '完全不同的地方采样点', region_code: S1_C1 });
  assert.equal(r.status, 201, r.text);
  assert.equal((await byCode('CS003')).state, 'unmatched', 'nothing changes before the re-run');
  const run = await cc.post('/api/v1/nat/city-sites/rematch', {});
  assert.equal(run.status, 200, run.text);
  assert.equal(run.body.auto, 1);
  const c3 = await byCode('CS003');
  assert.equal(c3.state, 'auto');
  assert.equal(c3.site_id, r.body.id);
  assert.equal(c3.region_name, '多福巷社区');
  // the auto-matched 隆福寺 site is deleted: CS004 is matched again and finds nothing
  assert.equal((await cc.del(`/api/v1/nat/sites/${sites.longfu.id}`)).status, 204);
  await cc.post('/api/v1/nat/city-sites/rematch', {});
  const c4 = await byCode('CS004');
  assert.equal(c4.state, 'unmatched');
  assert.equal(c4.site_id, null);
  const audit = await auditEntries(auditor, 'nat.city.rematch');
  assert.ok(audit.some((x) => /^matched=\d+ auto=\d+/.test(x.detail)), JSON.stringify(audit));
});

test('bad rows are reported by row and field, the others imported', async () => {
  const long = '长'.repeat(101);
  const r = await upload(
    xlsx([
      HEAD,
      ['CS101', '新点位甲', '', '', null, null],
      [null, '没有编码', '', '', null, null],
      ['CS102', '只有经度', '', '', 116.4, null],
      ['CS103', '纬度越界', '', '', 116.4, 60],
      ['CS101', '重复编码', '', '', null, null],
      ['CS 104', '编码有空格', '', '', null, null],
      ['CS105', long, '', '', null, null],
      ['CS106', '经度不是数字', '', '', 'abc', 39.9],
      ['CS107', '新点位乙', '', '', null, null],
    ]),
  );
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.total, 9);
  assert.equal(r.body.created, 2);
  assert.equal(r.body.failed, 7);
  const errs = r.body.errors.map((e) => `${e.row}:${e.field}:${e.code}`);
  assert.deepEqual(errs, [
    '3:code:required',
    '4:lat:required',
    '5:lat:out_of_range',
    '6:code:duplicate',
    '7:code:invalid_value',
    '8:name:too_long',
    '9:lng:invalid_value',
  ]);
  assert.match(r.body.errors[0].message, /点位编码/);
  assert.equal(r.body.errors[0].column, '点位编码*');
  assert.match(r.body.errors[3].message, /第 2 行/);
  assert.ok(await byCode('CS107'));
  assert.equal(await byCode('CS102'), null);
});

test('a CSV upload in UTF-8 with the same header; whole-file faults change nothing', async () => {
  const csv = '\ufeff' + [HEAD.join(','), 'CS201,"多福巷核酸点位",东城区,,116.4001,39.9101', 'CS202,,,,,'].join('\r\n') + '\r\n';
  const r = await upload(csv, cc, 'text/csv');
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.created, 1);
  assert.equal(r.body.auto, 1);
  assert.deepEqual(r.body.errors.map((e) => `${e.row}:${e.field}:${e.code}`), ['3:name:required']);
  assert.equal((await byCode('CS201')).site_id, sites.duofu.id);

  // the header without its asterisks, blanks around the names
  const bare = await upload('点位编码, 点位名称 ,所属区/街道,地址,经度,纬度\nCS203,北新桥,,,,\n', cc, 'text/csv');
  assert.equal(bare.status, 202, bare.text);
  assert.equal(bare.body.created, 1);
  const total = (await cc.get('/api/v1/nat/city-sites')).body.total;
  expectError(await upload('', cc, 'text/csv'), 400, 'empty');
  expectError(await upload(Buffer.from([0x43, 0x53, 0xb5, 0xe3, 0x0a]), cc, 'text/csv'), 400, 'invalid_encoding');
  expectError(await upload('编码,名称\nCS301,某点\n', cc, 'text/csv'), 400, 'invalid_csv');
  expectError(await upload(xlsx([['名称', '编码'], ['某点', 'CS302']])), 400, 'invalid_xlsx');
  expectError(await upload(xlsx([HEAD])), 400, 'empty');
  expectError(await upload(Buffer.from('PK\x03\x04garbage')), 400, 'invalid_xlsx');
  const many = [HEAD.join(','), ...Array.from({ length: 10001 }, (_, i) => `M${i},点位${i},,,,`)].join('\n');
  expectError(await upload(many, cc, 'text/csv'), 400, 'too_many_rows');
  assert.equal((await cc.get('/api/v1/nat/city-sites')).body.total, total);
  const refused = await auditEntries(auditor, 'nat.city.import');
  assert.ok(refused.some((x) => x.result === 'ok' && /created=1/.test(x.detail)));
});

test('the template opens with its header and a sheet of any name is read', async () => {
  const r = await fetch(ctx.url + '/api/v1/nat/city-sites/template.xlsx', { headers: { cookie: cc.cookie } });
  assert.equal(r.status, 200);
  const buf = Buffer.from(await r.arrayBuffer());
  const f = path.join(ctx.dir, 'template.xlsx');
  fs.writeFileSync(f, buf);
  const out = execFileSync(PY, ['-c', `import openpyxl,sys,json; ws=openpyxl.load_workbook(sys.argv[1]).active; print(json.dumps([ws.title,[c.value for c in ws[1]]], ensure_ascii=False))`, f], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), ['城市点位', HEAD]);
  // the template filled in, hints row kept, sheet renamed by the user
  const up = await upload(xlsx([HEAD, ['CS401', '隆福寺东口', '', '', null, null]], 'Sheet1'));
  assert.equal(up.status, 202, up.text);
  assert.equal(up.body.created, 1);
});
