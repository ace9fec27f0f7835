// Nucleic-acid result look-up (issue 10 "Look-up", seed 004 二4; docs/nat.md
// "Result look-up"): a person's results by id number (masked by role,
// revealed with person.reveal, audited), their export, and batches of id
// numbers uploaded as xlsx or CSV: a malformed id on row 517 reported with
// its row while the others are found, an empty file, a file that is not a
// zip, too many rows, scope (another street neither lists nor downloads),
// re-run seeing a new result (also where a copy from before it was left),
// the workbooks served from the database when this server's copy is
// missing, delete, one audit entry per run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startCityWith, CITY_STAFF, expectError, auditEntries, residentId, sleep, smsCode, sqlRun } from './lib.mjs';

const PW = 'Nat-lookup-2024!';
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001';
const S2 = '110101002000'; // 景山街道
const S2_C1 = '110101002001';
const H = 3600e3;
const DAY = 24 * H;
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const PY = process.env.FK_PYTHON || '/usr/bin/python3';
let ctx, cc, street1, street2, auditor;
const people = []; // {id, name, idn}

before(async () => {
  ctx = await startCityWith({ ...CITY_STAFF, street1: ['street_staff', S1], street2: ['street_staff', S2] }, PW);
  ({ cc_dc: cc, street1, street2, auditor } = ctx.as);
  const names = ['张三丰', '李四', '王小五'];
  for (let i = 0; i < 3; i++) {
    const idn = residentId('110101', '19850505', 401 + 2 * i);
    const r = await cc.post('/api/v1/persons', { name: names[i], id_number: idn, region_code: S1_C1 });
    assert.equal(r.status, 201, r.text);
    people.push({ id: r.body.id, name: names[i], idn });
  }
  const r = await cc.post('/api/v1/persons', { name: '景山人', id_number: residentId('110101', '19850505', 451), region_code: S2_C1 });
  assert.equal(r.status, 201, r.text);
  people.push({ id: r.body.id, name: '景山人', idn: residentId('110101', '19850505', 451) });
  const now = Date.now();
  // person 0: three results, the newest negative, two in the last 3 days
  await result(people[0], 'negative', now - 10 * DAY, '第一检测所');
  await result(people[0], 'negative', now - 2 * H - DAY, '第一检测所');
  await result(people[0], 'negative', now - 2 * H, '第二检测所');
  // person 1: one old positive; person 2: none
  await result(people[1], 'positive', now - 9 * DAY, '第三检测所');
  await result(people[3], 'negative', now - 3 * H, '第一检测所');
});

after(async () => {
  await ctx?.stop();
});

async function result(p, res, at, institution) {
  const r = await cc.post(`/api/v1/persons/${p.id}/test-results`, { result: res, sampled_at: at, reported_at: at + 5 * H, institution });
  assert.ok(r.status === 201 || r.status === 200, r.text);
}

let fileSeq = 0;
function py(script, ...args) {
  const f = path.join(ctx.dir, `py-${++fileSeq}.py`);
  fs.writeFileSync(f, script);
  return execFileSync(PY, [f, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}
function xlsx(rows) {
  const out = path.join(ctx.dir, `upload-${++fileSeq}.xlsx`);
  fs.writeFileSync(`${out}.json`, JSON.stringify(rows));
  py(`import json, sys, openpyxl
wb = openpyxl.Workbook(); ws = wb.active
for row in json.load(open(sys.argv[1], encoding='utf-8')): ws.append(row)
wb.save(sys.argv[2])`, `${out}.json`, out);
  return fs.readFileSync(out);
}
function readXlsx(buf) {
  const f = path.join(ctx.dir, `read-${++fileSeq}.xlsx`);
  fs.writeFileSync(f, buf);
  return JSON.parse(py(`import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
ws = wb[wb.sheetnames[0]]
print(json.dumps({'sheet': wb.sheetnames[0], 'rows': [[None if v is None else str(v) for v in r] for r in ws.iter_rows(values_only=True)]}, ensure_ascii=False))`, f));
}
async function download(client, p) {
  const r = await fetch(ctx.url + p, { headers: { cookie: client.cookie } });
  return { status: r.status, type: r.headers.get('content-type'), buf: Buffer.from(await r.arrayBuffer()) };
}
const upload = (client, buf, name, query = '') =>
  client.post(`/api/v1/nat/batches?file_name=${encodeURIComponent(name)}${query}`, new Uint8Array(buf), { 'content-type': name.endsWith('.csv') ? 'text/csv' : XLSX });
// (a minute at most: the 60,000-row batch also stores its workbooks in the
// database, and a loaded CI machine ran it past the old 200 polls)
async function finished(client, id) {
  let b;
  for (const t0 = Date.now(); Date.now() - t0 < 60000;) {
    b = (await client.get(`/api/v1/nat/batches/${id}`)).body;
    if (b && (b.state === 'done' || b.state === 'failed')) return b;
    await sleep(50);
  }
  assert.fail(`batch ${id} did not finish: ${JSON.stringify(b)}`);
}

test('personal look-up: masked for a street, revealed with person.reveal, newest first, audited; bad ids; scope', async () => {
  let r = await street1.get(`/api/v1/nat/results?id_number=${people[0].idn}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, '张*丰');
  assert.notEqual(r.body.id_number, people[0].idn);
  assert.match(r.body.id_number, /^11\*+\d$|^11\*+X$/);
  assert.equal(r.body.items.length, 3);
  assert.equal(r.body.items[0].institution, '第二检测所');
  assert.equal(r.body.items[0].result_label, '阴性');
  assert.ok(r.body.items[0].sampled_at > r.body.items[1].sampled_at);
  // lower case x and blanks are the same person
  r = await street1.get(`/api/v1/nat/results?id_number=${encodeURIComponent(people[0].idn.slice(0, 6) + ' ' + people[0].idn.slice(6).toLowerCase())}`);
  assert.equal(r.status, 200, r.text);
  expectError(await street1.get('/api/v1/nat/results?reveal=1&id_number=' + people[0].idn), 403, 'reveal_forbidden', 'reveal');
  r = await cc.get(`/api/v1/nat/results?reveal=1&id_number=${people[0].idn}`);
  assert.equal(r.body.name, '张三丰');
  assert.equal(r.body.id_number, people[0].idn);
  const rev = await auditEntries(auditor, 'nat.lookup.person_reveal', people[0].id);
  assert.equal(rev.length, 1);
  assert.ok((await auditEntries(auditor, 'nat.lookup.person', people[0].id)).length >= 2);
  // a checksum error, a short id, none
  const bad = people[0].idn.slice(0, 17) + (people[0].idn[17] === '0' ? '1' : '0');
  expectError(await street1.get(`/api/v1/nat/results?id_number=${bad}`), 400, 'invalid_id_number', 'id_number');
  expectError(await street1.get('/api/v1/nat/results?id_number=1101'), 400, 'invalid_id_number', 'id_number');
  expectError(await street1.get('/api/v1/nat/results'), 400, 'required', 'id_number');
  // another street's resident reads as unknown
  expectError(await street1.get(`/api/v1/nat/results?id_number=${people[3].idn}`), 404, 'not_found');
  assert.equal((await street2.get(`/api/v1/nat/results?id_number=${people[3].idn}`)).status, 200);
  // the export
  const x = await download(street1, `/api/v1/nat/results.xlsx?id_number=${people[0].idn}`);
  assert.equal(x.status, 200);
  const book = readXlsx(x.buf);
  assert.deepEqual(book.rows[0], ['姓名', '身份证号', '检测结果', '采样时间', '报告时间', '检测机构']);
  assert.equal(book.rows.length, 4);
  assert.equal(book.rows[1][0], '张*丰');
  assert.equal(book.rows[1][5], '第二检测所');
});

test('batch: row 517 malformed is reported with its row, the rest found or not found; downloads; one audit entry', async () => {
  const rows = [['序号', '身份证号']];
  const ids = [];
  for (let i = 2; i <= 700; i++) {
    let idn;
    if (i === 517) idn = '11010119850505401Z';
    else if (i === 10) idn = people[0].idn;
    else if (i === 11) idn = people[1].idn.toLowerCase();
    else if (i === 12) idn = people[2].idn;
    else if (i === 13) idn = people[3].idn; // another street's: not found for street1
    else if (i === 14) idn = people[0].idn; // twice
    else idn = residentId('110102', '19700101', 2 * i + 1);
    ids.push(idn);
    rows.push([i - 1, idn]);
  }
  const r = await upload(street1, xlsx(rows), '东华门名单.xlsx');
  assert.equal(r.status, 202, r.text);
  const b = await finished(street1, r.body.id);
  assert.equal(b.state, 'done', JSON.stringify(b));
  assert.equal(b.rows, 699);
  assert.equal(b.found, 4);
  assert.equal(b.malformed, 1);
  assert.equal(b.not_found, 694);
  assert.equal(b.file_name, '东华门名单.xlsx');
  assert.equal(b.region_name, '东华门街道');
  assert.equal(b.user_name.length > 0, true);
  const res = await download(street1, `/api/v1/nat/batches/${b.id}/result.xlsx`);
  assert.equal(res.status, 200);
  assert.equal(res.type, XLSX);
  const book = readXlsx(res.buf);
  assert.deepEqual(book.rows[0], ['身份证号', '姓名', '检测结果', '采样时间', '报告时间', '检测机构', '近3天的核查次数']);
  assert.equal(book.rows.length, 700);
  // the upload's order: sheet row i is upload row i
  const byRow = (i) => book.rows[i - 1];
  assert.deepEqual([byRow(10)[0], byRow(10)[1], byRow(10)[2], byRow(10)[5], byRow(10)[6]], [people[0].idn, '张*丰', '阴性', '第二检测所', '2']);
  assert.match(byRow(10)[3], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.deepEqual([byRow(11)[1], byRow(11)[2], byRow(11)[6]], ['李*', '阳性', '0']);
  assert.deepEqual([byRow(12)[1], byRow(12)[2]], ['王*五', '无检测记录']);
  assert.deepEqual([byRow(13)[0], byRow(13)[2]], [people[3].idn, '未查到']);
  assert.equal(byRow(14)[1], '张*丰');
  assert.deepEqual([byRow(517)[0], byRow(517)[2]], ['11010119850505401Z', '格式错误']);
  const bad = readXlsx((await download(street1, `/api/v1/nat/batches/${b.id}/malformed.xlsx`)).buf);
  assert.deepEqual(bad.rows, [['行号', '身份证号', '错误'], ['517', '11010119850505401Z', '身份证号码格式或校验位不正确']]);
  const nf = readXlsx((await download(street1, `/api/v1/nat/batches/${b.id}/not-found.xlsx`)).buf);
  assert.equal(nf.rows.length, 695);
  assert.deepEqual(nf.rows[1], ['2', ids[0]]);
  assert.ok(nf.rows.some((x) => x[1] === people[3].idn));
  const runs = await auditEntries(auditor, 'nat.lookup.batch_run', b.id);
  assert.equal(runs.length, 1);
  assert.match(runs[0].detail, /rows=699 found=4 not_found=694 malformed=1/);
  assert.ok((await auditEntries(auditor, 'nat.lookup.batch_download', b.id)).length >= 3);
  // the list of the street
  const list = await street1.get('/api/v1/nat/batches');
  assert.equal(list.status, 200);
  assert.ok(list.body.items.some((x) => x.id === b.id));
});

test('batch: CSV with ids in the first column; empty; not a zip; too many rows; nothing half-written', async () => {
  const csv = `${people[0].idn}\n${people[2].idn}\n123\n`;
  let r = await upload(street1, Buffer.from(csv), 'ids.csv');
  assert.equal(r.status, 202, r.text);
  const b = await finished(street1, r.body.id);
  assert.deepEqual([b.state, b.rows, b.found, b.not_found, b.malformed], ['done', 3, 2, 0, 1]);
  const before = (await cc.get('/api/v1/nat/batches?page_size=100')).body.total;
  expectError(await upload(street1, Buffer.alloc(0), 'x.xlsx'), 400, 'empty');
  expectError(await upload(street1, Buffer.from('身份证号\n1\n'), 'x.xlsx'), 400, 'invalid_xlsx');
  const many = Buffer.from(`${people[0].idn}\n`.repeat(1000002));
  expectError(await upload(street1, many, 'many.csv'), 400, 'too_many_rows');
  assert.equal((await cc.get('/api/v1/nat/batches?page_size=100')).body.total, before);
  // a zip that is no workbook fails the run with the reader's code
  r = await upload(street1, Buffer.from('PK\x03\x04broken'), 'broken.xlsx');
  assert.equal(r.status, 202, r.text);
  const f = await finished(street1, r.body.id);
  assert.equal(f.state, 'failed');
  assert.ok(f.error.length > 0);
  expectError(await street1.get(`/api/v1/nat/batches/${f.id}/result.xlsx`), 409, 'job_not_done');
  // permissions
  assert.equal((await ctx.as.grid_dc.get('/api/v1/nat/batches')).status, 403);
});

test('batch: scope, re-run sees a new result, delete', async () => {
  const r = await upload(street1, xlsx([[people[2].idn], [people[0].idn]]), 'two.xlsx');
  assert.equal(r.status, 202, r.text);
  let b = await finished(street1, r.body.id);
  assert.deepEqual([b.rows, b.found], [2, 2]);
  // another street: not listed, not readable, not downloadable, not deletable
  expectError(await street2.get(`/api/v1/nat/batches/${b.id}`), 404, 'not_found');
  expectError(await street2.get(`/api/v1/nat/batches/${b.id}/result.xlsx`), 404, 'not_found');
  expectError(await street2.get(`/api/v1/nat/batches/${b.id}/not-found.xlsx`), 404, 'not_found');
  expectError(await street2.del(`/api/v1/nat/batches/${b.id}`), 404, 'not_found');
  expectError(await street2.post(`/api/v1/nat/batches/${b.id}/rerun`), 404, 'not_found');
  assert.ok(!(await street2.get('/api/v1/nat/batches')).body.items.some((x) => x.id === b.id));
  // the district sees it
  assert.equal((await cc.get(`/api/v1/nat/batches/${b.id}`)).status, 200);
  let book = readXlsx((await download(street1, `/api/v1/nat/batches/${b.id}/result.xlsx`)).buf);
  assert.equal(book.rows[1][2], '无检测记录');
  // the workbooks are in the database too (job/export_store.h): a server
  // without this folder's copy serves them (here: the copy removed)
  const local = path.join(ctx.dir, 'exports', 'nat-lookup', `${b.id}-result.xlsx`);
  const first = fs.readFileSync(local);
  fs.unlinkSync(local);
  const again = await download(street1, `/api/v1/nat/batches/${b.id}/result.xlsx`);
  assert.equal(again.status, 200);
  assert.ok(again.buf.equals(first), 'the same workbook, from the database');
  assert.ok(fs.existsSync(local), 'kept as this server\'s copy');
  await result(people[2], 'positive', Date.now() - H, '复核检测所');
  // the upload too: a re-run asked of a server that did not take it
  fs.unlinkSync(path.join(ctx.dir, 'exports', 'nat-lookup', `${b.id}-upload`));
  const rr = await street1.post(`/api/v1/nat/batches/${b.id}/rerun`);
  assert.equal(rr.status, 200, rr.text);
  b = await finished(street1, b.id);
  assert.equal(b.runs, 2);
  // a copy from before the re-run (as another server would still hold) is not served
  fs.writeFileSync(local, first);
  fs.utimesSync(local, new Date(Date.now() - H), new Date(Date.now() - H));
  book = readXlsx((await download(street1, `/api/v1/nat/batches/${b.id}/result.xlsx`)).buf);
  assert.deepEqual([book.rows[1][2], book.rows[1][5], book.rows[1][6]], ['阳性', '复核检测所', '1']);
  assert.equal((await auditEntries(auditor, 'nat.lookup.batch_run', b.id)).length, 2);
  const d = await street1.del(`/api/v1/nat/batches/${b.id}`);
  assert.equal(d.status, 200, d.text);
  expectError(await street1.get(`/api/v1/nat/batches/${b.id}`), 404, 'not_found');
  const left = fs.readdirSync(path.join(ctx.dir, 'exports', 'nat-lookup')).filter((f) => f.startsWith(`${b.id}-`));
  assert.deepEqual(left, []);
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM export_files WHERE job_id = ${b.id}`).trim(), '0', 'nor in the database');
});

test('batch: names in full only with person.reveal, and the run says so in its audit entry', async () => {
  expectError(await upload(street1, xlsx([[people[0].idn]]), 'r.xlsx', '&reveal=1'), 403, 'reveal_forbidden', 'reveal');
  const r = await upload(cc, xlsx([[people[0].idn]]), 'r.xlsx', '&reveal=1');
  assert.equal(r.status, 202, r.text);
  const b = await finished(cc, r.body.id);
  const book = readXlsx((await download(cc, `/api/v1/nat/batches/${b.id}/result.xlsx`)).buf);
  assert.equal(book.rows[1][1], '张三丰');
  assert.equal((await auditEntries(auditor, 'nat.lookup.batch_run_reveal', b.id)).length, 1);
  assert.equal((await auditEntries(auditor, 'nat.lookup.batch_download_reveal', b.id)).length, 1);
});

test('batch: a large batch (two look-up ranges side by side) gives every found row its own name and result', async () => {
  const names = ['赵一', '钱二', '孙三', '李四四', '周五', '吴六', '郑七', '王八', '冯九', '陈十'];
  const known = [];
  for (let i = 0; i < names.length; i++) {
    const idn = residentId('110101', '19770707', 601 + 2 * i);
    const r = await cc.post('/api/v1/persons', { name: names[i], id_number: idn, region_code: S1_C1 });
    assert.equal(r.status, 201, r.text);
    await result({ id: r.body.id }, i % 2 ? 'positive' : 'negative', Date.now() - (i + 1) * H, `检测所${i}`);
    known.push(idn);
  }
  // 60,000 rows: unknown ids, the ten people at scattered rows
  const lines = [];
  const at = new Map();
  for (let i = 0; i < 60000; i++) {
    const k = i % 6000 === 17 ? (i - 17) / 6000 : -1;
    if (k >= 0) at.set(i + 1, k);
    const y = 1950 + (i % 50), m = String(1 + (i % 12)).padStart(2, '0'), d = String(1 + (i % 28)).padStart(2, '0');
    lines.push(k >= 0 ? known[k] : residentId('110105', `${y}${m}${d}`, Math.floor(i / 1400) * 2 + 1));
  }
  const r = await upload(street1, Buffer.from(lines.join('\n') + '\n'), 'large.csv');
  assert.equal(r.status, 202, r.text);
  const b = await finished(street1, r.body.id);
  assert.equal(b.state, 'done', JSON.stringify(b));
  assert.equal(b.found, 10);
  const book = readXlsx((await download(street1, `/api/v1/nat/batches/${b.id}/result.xlsx`)).buf);
  assert.equal(book.rows.length, 60001);
  for (const [row, k] of at) {
    const x = book.rows[row]; // row 1 is the header
    assert.equal(x[0], known[k]);
    assert.equal(x[1], `${names[k][0]}*${names[k].length > 2 ? names[k].slice(-1) : ''}`.replace('**', '*'), `row ${row}`);
    assert.deepEqual([x[2], x[5]], [k % 2 ? '阳性' : '阴性', `检测所${k}`]);
  }
});

test("a resident's own results (我的核酸结果): none before real-name binding, then their own, newest first", async () => {
  const c = ctx.client();
  const phone = '13910009999';
  let r = await c.post('/api/v1/auth/sms/send', { phone });
  assert.equal(r.status, 200, r.text);
  r = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(ctx, phone) });
  assert.equal(r.status, 200, r.text);
  r = await c.get('/api/v1/me/nat-results');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { items: [], registered: false });
  assert.equal((await c.post('/api/v1/me/consent', { version: 'v1' })).status, 200);
  const idn = residentId('110101', '19900303', 801);
  r = await c.post('/api/v1/me/person', { name: '居民甲', id_number: idn, region_code: S1_C1, address: '多福巷5号' });
  assert.ok(r.status === 201 || r.status === 200, r.text);
  const pid = r.body.person.id;
  await result({ id: pid }, 'negative', Date.now() - 30 * H, '第一检测所');
  await result({ id: pid }, 'positive', Date.now() - 5 * H, '第二检测所');
  r = await c.get('/api/v1/me/nat-results');
  assert.equal(r.body.registered, true);
  assert.deepEqual(r.body.items.map((x) => [x.result_label, x.institution]), [['阳性', '第二检测所'], ['阴性', '第一检测所']]);
  // staff have no such page; a resident has no look-up of others
  expectError(await c.get(`/api/v1/nat/results?id_number=${people[0].idn}`), 403, 'forbidden');
  assert.ok((await auditEntries(auditor, 'nat.lookup.own', pid)).length >= 1);
});
