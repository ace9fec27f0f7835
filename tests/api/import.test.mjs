// Excel import of the observation list (issue 9, docs/cases.md "Import and
// export"): the template with its drop-down lists, an upload written by
// openpyxl with good and bad rows (id checksum, phone, unknown region,
// region outside scope, a formula, a date cell and a text date, a
// duplicate under both policies), the dry run that writes nothing, the row
// error report with its marked cells, the imported people on the list with
// codes recomputed, bad uploads (not a zip, a zip bomb, too many rows,
// empty, wrong sheet), scope, permission and audit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { residentId, expectError, auditEntries, startCityWith, sqlRun } from './lib.mjs';

const PW = 'Passw0rd!import';
const COMMUNITY = '110101001001'; // 多福巷社区, 东城区
const XICHENG = '110102001001'; // 府右街社区, 西城区: outside the importer's scope
const PY = process.env.FK_PYTHON || '/usr/bin/python3'; // the system python has python3-openpyxl
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const DAY = 24 * 3600e3;
let ctx, cc, ccOther, leader, auditor, site;

let seq = 0;
const rid = () => residentId('110101', '19880808', 500 + ++seq * 2);

// Python helpers, run with a JSON argument; openpyxl writes the uploads as
// a spreadsheet program would, and reads back what the server wrote.
const PY_WRITE = `
import json, sys, datetime, openpyxl
spec = json.load(open(sys.argv[1], encoding='utf-8'))
wb = openpyxl.Workbook()
ws = wb.active
ws.title = spec.get('sheet', '观察对象')
for row in spec['rows']:
    out = []
    for v in row:
        if isinstance(v, dict) and 'date' in v:
            out.append(datetime.datetime.strptime(v['date'], '%Y-%m-%d'))
        else:
            out.append(v)
    ws.append(out)
wb.save(spec['out'])
`;
const PY_READ = `
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {'sheets': wb.sheetnames, 'rows': [], 'marks': [], 'validations': [], 'formulas': 0}
ws = wb[wb.sheetnames[0]]
for row in ws.iter_rows():
    out['formulas'] += sum(1 for c in row if c.data_type == 'f')
    out['rows'].append([None if c.value is None else str(c.value) for c in row])
    for c in row:
        fill = c.fill.fgColor.rgb if c.fill and c.fill.fill_type else None
        if c.comment or (fill and fill not in ('00000000',)):
            out['marks'].append({'cell': c.coordinate, 'fill': fill, 'comment': c.comment.text if c.comment else None})
for dv in ws.data_validations.dataValidation:
    out['validations'].append({'sqref': str(dv.sqref), 'formula': dv.formula1, 'type': dv.type})
print(json.dumps(out, ensure_ascii=False))
`;
const PY_BOMB = `
import sys, zipfile
src, out = sys.argv[1], sys.argv[2]
zin = zipfile.ZipFile(src)
zout = zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED)
for item in zin.infolist():
    data = zin.read(item.filename)
    if item.filename == 'xl/worksheets/sheet1.xml':
        # before the rows: a reader that stops after them still meets it
        data = data.replace(b'<sheetData>', b' ' * (64 * 1024 * 1024) + b'<sheetData>')
    zout.writestr(item, data)
zout.close()
`;
// The sheet's <dimension> as Excel and WPS write it (openpyxl's write-only
// mode leaves it out): argv[3] is the ref it declares.
const PY_DIM = `
import re, sys, zipfile
src, out, ref = sys.argv[1], sys.argv[2], sys.argv[3]
zin = zipfile.ZipFile(src)
zout = zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED)
for item in zin.infolist():
    data = zin.read(item.filename)
    if item.filename == 'xl/worksheets/sheet1.xml':
        data = re.sub(rb'<dimension [^>]*/>', b'', data)
        data = data.replace(b'</sheetPr>', b'</sheetPr><dimension ref="' + ref.encode() + b'"/>', 1)
    zout.writestr(item, data)
zout.close()
`;
const PY_MANY = `
import sys, openpyxl
wb = openpyxl.Workbook(write_only=True)
ws = wb.create_sheet('观察对象')
ws.append(['姓名*', '证件类型*', '证件号码*'])
for i in range(100002):
    ws.append(['张三'])
wb.save(sys.argv[1])
`;

function py(script, ...args) {
  const f = path.join(ctx.dir, `py-${script.length}.py`);
  fs.writeFileSync(f, script);
  return execFileSync(PY, [f, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

let fileSeq = 0;
function xlsx(rows, sheet) {
  const out = path.join(ctx.dir, `upload-${++fileSeq}.xlsx`), spec = `${out}.json`;
  fs.writeFileSync(spec, JSON.stringify({ rows, sheet, out }));
  py(PY_WRITE, spec);
  return fs.readFileSync(out);
}

function readXlsx(buf) {
  const f = path.join(ctx.dir, `read-${++fileSeq}.xlsx`);
  fs.writeFileSync(f, buf);
  return JSON.parse(py(PY_READ, f));
}

// A binary download (the Client reads replies as text).
async function download(client, p) {
  const r = await fetch(ctx.url + p, { headers: { cookie: client.cookie } });
  return { status: r.status, type: r.headers.get('content-type'), buf: Buffer.from(await r.arrayBuffer()) };
}

const upload = (client, buf, query = '') =>
  client.post(`/api/v1/observations/import${query}`, new Uint8Array(buf), { 'content-type': XLSX });

// The job's result once it has ended.
async function jobDone(client, id) {
  let j;
  for (let t = 0; t < 400; t++) {
    j = (await client.get(`/api/v1/jobs/${id}`)).body;
    if (j.status === 'done' || j.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(j.status, 'done', JSON.stringify(j));
  return typeof j.result === 'string' ? JSON.parse(j.result) : j.result;
}

const HEAD = ['姓名*', '证件类型*', '证件号码*', '性别', '联系电话*', '现住址', '所属区划*', '管控措施*', '隔离开始日期*',
  '隔离点/定点医院', '房间号', '信息来源', '何时来市', '来市交通方式', '航班/车次', '是否有中高风险地区旅居史',
  '是否签署告知书', '是否发放居家指引', '房屋类型', '同住人数', '备注', '移交确认交接人'];
const today = () => new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10); // the China date, for a test's input
const daysAgo = (n) => new Date(Date.now() + 8 * 3600e3 - n * DAY).toISOString().slice(0, 10);

function row(over = {}) {
  const r = {
    name: '孙悟空', idType: '居民身份证', id: rid(), gender: '', phone: '13800138000', address: '多福巷1号',
    region: COMMUNITY, kind: '居家隔离', start: daysAgo(2), site: '', room: '', source: '',
    arrived: '', transport: '火车', transportNo: 'G101', risk: '是', notice: '是', guide: '否', housing: '商品房',
    co: 2, note: '', handover: '', ...over,
  };
  return [r.name, r.idType, r.id, r.gender, r.phone, r.address, r.region, r.kind, r.start, r.site, r.room, r.source,
    r.arrived, r.transport, r.transportNo, r.risk, r.notice, r.guide, r.housing, r.co, r.note, r.handover];
}

const count = (sql) => Number(sqlRun(ctx, sql).trim());

before(async () => {
  ctx = await startCityWith(
    {
      i_cc: ['command_center', '110101000000'],
      i_cc_xc: ['command_center', '110102000000'],
      i_leader: ['leader', '110100000000'],
      i_auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ i_cc: cc, i_cc_xc: ccOther, i_leader: leader, i_auditor: auditor } = ctx.as);
  const r = await cc.post('/api/v1/places', { name: '东华门隔离酒店', kind: 'quarantine_site', region_code: COMMUNITY });
  assert.equal(r.status, 201, r.text);
  site = r.body.id;
  const rooms = await cc.post(`/api/v1/quarantine-sites/${site}/rooms`, { rooms: ['101', '102'] });
  assert.ok(rooms.status < 300, rooms.text);
});
after(async () => ctx?.stop());

test('the template opens in openpyxl: sheet, header, hints and the drop-down lists', async () => {
  const d = await download(cc, '/api/v1/observations/template.xlsx');
  assert.equal(d.status, 200);
  assert.equal(d.type, XLSX);
  const t = readXlsx(d.buf);
  assert.deepEqual(t.sheets.filter((s) => !s.startsWith('_')), ['观察对象']);
  assert.deepEqual(t.rows[0], HEAD);
  assert.match(t.rows[1][6], /12位区划代码/);
  const lists = t.validations.map((v) => `${v.sqref} ${v.formula}`).join('\n');
  assert.match(lists, /^H3:H\d+ .*居家隔离,居家医学观察,集中隔离,定点医院/m);
  assert.match(lists, /^B3:B\d+ .*居民身份证/m);
  assert.match(lists, /^P3:P\d+ .*是,否/m);
  // without case.import: refused
  expectError(await leader.get('/api/v1/observations/template.xlsx'), 403, 'forbidden');
});

test('an import: dry run writes nothing, then valid rows are written, bad rows reported with their cells marked', async () => {
  // a person already on the list: the duplicate
  const dupId = rid();
  const p = await cc.post('/api/v1/persons', { name: '猪八戒', id_number: dupId, region_code: COMMUNITY });
  assert.equal(p.status, 201, p.text);
  const o = await cc.post('/api/v1/observations', { person_id: p.body.id, kind: 'home_observation', source: 'grid_patrol' });
  assert.equal(o.status, 201, o.text);

  const good1 = rid(), good2 = rid();
  const badId = residentId('110101', '19880808', 900).slice(0, 17) + (residentId('110101', '19880808', 900).endsWith('1') ? '2' : '1');
  const file = xlsx([
    HEAD,
    ['必填，如 张三'], // a hints row, as the template has
    row({ name: '唐三藏', id: good1, start: daysAgo(1) }), // text date
    row({ name: '沙悟净', id: good2, kind: '集中隔离', site: '东华门隔离酒店', room: '101', start: { date: daysAgo(3) }, arrived: { date: daysAgo(4) } }), // date cells
    row({ id: badId }), // checksum
    row({ phone: '1234' }),
    row({ region: '110101009001' }), // no such region
    row({ region: XICHENG }), // outside scope
    row({ note: '=1+1' }), // a formula: filled below
    row({ name: '猪八戒', id: dupId }), // already observed
  ]);
  // openpyxl writes a string starting with = as a formula: the row with note '=1+1'
  const before = count('SELECT COUNT(*) FROM observations');
  const persons = count('SELECT COUNT(*) FROM persons');

  const dry = await upload(cc, file, '?dry_run=1');
  assert.equal(dry.status, 202, dry.text);
  assert.equal(dry.body.rows, 8);
  const dres = await jobDone(cc, dry.body.job_id);
  assert.deepEqual({ ...dres }, { total: 8, valid: 2, written: 0, updated: 0, failed: 6, dry_run: true, report: true });
  assert.equal(count('SELECT COUNT(*) FROM observations'), before, 'a dry run writes nothing');
  assert.equal(count('SELECT COUNT(*) FROM persons'), persons, 'a dry run registers nobody');

  const up = await upload(cc, file, '?duplicates=report');
  assert.equal(up.status, 202, up.text);
  const res = await jobDone(cc, up.body.job_id);
  assert.deepEqual({ ...res }, { total: 8, valid: 2, written: 2, updated: 0, failed: 6, dry_run: false, report: true });
  assert.equal(count('SELECT COUNT(*) FROM observations'), before + 2);

  // the imported people are on the list, with their codes recomputed
  const list = (await cc.get('/api/v1/observations?source=import&page_size=50')).body;
  assert.equal(list.total, 2, JSON.stringify(list));
  const kinds = list.items.map((i) => i.kind).sort();
  assert.deepEqual(kinds, ['central', 'home_isolation']);
  for (const it of list.items) {
    assert.match(it.person_name, /\*/, 'masked');
    const c = await cc.get(`/api/v1/persons/${it.person_id}/code`);
    assert.equal(c.body.colour, 'red', c.text);
  }
  const central = list.items.find((i) => i.kind === 'central');
  assert.equal(central.room_no, '101');
  assert.equal(central.site_name, '东华门隔离酒店');
  const full = (await cc.get(`/api/v1/observations/${central.id}`)).body;
  assert.equal(full.transport_no, 'G101');
  assert.equal(full.risk_area_stay, true);
  assert.equal(full.co_residents, 2);
  // the date cell is the China midnight of that day, as the text date
  const startDay = new Date(full.start_at + 8 * 3600e3).toISOString();
  assert.equal(startDay, `${daysAgo(3)}T00:00:00.000Z`);

  // the error report: the failing rows as uploaded, failing cells marked, 错误说明
  const rep = await download(cc, `/api/v1/jobs/${up.body.job_id}/errors.xlsx`);
  assert.equal(rep.status, 200, rep.buf.toString());
  const t = readXlsx(rep.buf);
  assert.equal(t.rows[0].at(-1), '错误说明');
  assert.equal(t.rows.length, 7, JSON.stringify(t.rows));
  const byRow = Object.fromEntries(t.rows.slice(1).map((r) => [r[0], r]));
  const why = (n) => byRow[String(n)].at(-1);
  assert.match(why(5), /校验位/);
  assert.match(why(6), /手机号码/);
  assert.match(why(7), /所属区划|区划/);
  assert.match(why(8), /区划/);
  assert.match(why(9), /公式/);
  assert.match(why(10), /已在隔离观察名单/);
  const marked = (cell) => t.marks.find((m) => m.cell === cell);
  // columns shift by one: A is the row number; D is 证件号码, F 联系电话, H 所属区划, V 备注
  assert.ok(marked('D2')?.comment?.includes('校验位'), JSON.stringify(t.marks));
  assert.ok(marked('D2').fill, 'red fill');
  assert.ok(marked('F3')?.comment, JSON.stringify(t.marks));
  assert.ok(marked('H4')?.comment, JSON.stringify(t.marks));
  assert.ok(marked('H5')?.comment, JSON.stringify(t.marks));
  assert.ok(marked('V6')?.comment?.includes('公式'), JSON.stringify(t.marks));
  assert.equal(byRow['6'][5], '1234', 'cells as uploaded');

  // another district's command centre holds case.import but not this job's region
  expectError(await ccOther.get(`/api/v1/jobs/${up.body.job_id}/errors.xlsx`), 404, 'not_found');

  // audit: the upload and the write
  const a1 = await auditEntries(auditor, 'observation.import_upload', up.body.job_id);
  assert.equal(a1.length, 1);
  const a2 = await auditEntries(auditor, 'observation.import', up.body.job_id);
  assert.match(a2[0].detail, /written=2/);
});

test('duplicates=update updates the open observation; report leaves it', async () => {
  const id = rid();
  const first = await upload(cc, xlsx([HEAD, row({ name: '白骨精', id, co: 1, transportNo: 'G1' })]));
  assert.equal((await jobDone(cc, first.body.job_id)).written, 1);
  const again = xlsx([HEAD, row({ name: '白骨精', id, co: 5, transportNo: 'D7' })]);
  const rep = await jobDone(cc, (await upload(cc, again, '?duplicates=report')).body.job_id);
  assert.equal(rep.failed, 1);
  const obsId = sqlRun(ctx, `SELECT o.id FROM observations o JOIN persons p ON p.id = o.person_id WHERE o.state = 'active' AND o.source = 'import' AND o.co_residents = 1`).trim();
  assert.ok(obsId, 'the first import is there');
  let o = (await cc.get(`/api/v1/observations/${obsId}`)).body;
  assert.equal(o.co_residents, 1);
  const upd = await jobDone(cc, (await upload(cc, again, '?duplicates=update')).body.job_id);
  assert.deepEqual([upd.written, upd.updated, upd.failed], [0, 1, 0]);
  o = (await cc.get(`/api/v1/observations/${obsId}`)).body;
  assert.equal(o.co_residents, 5);
  assert.equal(o.transport_no, 'D7');
});

// The write goes in batches of rows under one savepoint (docs/cases.md "The
// import"): a row failing at write time rolls its batch back and is written
// alone, the rows before it again. More rows than a batch, failures spread
// over both: every other row written once, the failing ones reported, and
// the deferred codes and counters as the row-by-row write left them.
test('a file of several batches with rows failing at write time: the others written once, codes and counters as row by row', async () => {
  const N = 300;
  const ids = Array.from({ length: N }, (_, i) => residentId('110101', '19770707', 2 * i + 1));
  const failing = [];
  const rows = [HEAD];
  for (let i = 0; i < N; i++) {
    if (i % 37 === 5) {
      rows.push(row({ name: '出界人', id: ids[i], region: XICHENG })); // outside scope
      failing.push(i + 2);
    } else if (i % 50 === 20) {
      rows.push(row({ name: '重复人', id: ids[i - 1] })); // the row before's person: already on the list
      failing.push(i + 2);
    } else {
      rows.push(row({ name: i % 2 ? '林黛玉' : '贾宝玉', id: ids[i], kind: i % 3 ? '居家隔离' : '居家医学观察' }));
    }
  }
  const written = N - failing.length;
  const t0 = Date.now();
  const was = {
    persons: count('SELECT COUNT(*) FROM persons'),
    observations: count('SELECT COUNT(*) FROM observations'),
    changes: count('SELECT COUNT(*) FROM status_changes'),
    events: count('SELECT COUNT(*) FROM case_events'),
    history: count('SELECT COUNT(*) FROM code_history'),
  };
  const up = await upload(cc, xlsx(rows));
  assert.equal(up.status, 202, up.text);
  const res = await jobDone(cc, up.body.job_id);
  assert.deepEqual({ ...res }, { total: N, valid: written, written, updated: 0, failed: failing.length, dry_run: false, report: true });
  // the report lists exactly the failing rows, with their reasons
  const t = readXlsx((await download(cc, `/api/v1/jobs/${up.body.job_id}/errors.xlsx`)).buf);
  assert.deepEqual(t.rows.slice(1).map((r) => Number(r[0])), failing);
  for (const r of t.rows.slice(1)) assert.match(r.at(-1), r[1] === '出界人' ? /区划/ : /已在隔离观察名单/, JSON.stringify(r));
  // each written row once: a person, an observation, a status change, its two events
  assert.equal(count('SELECT COUNT(*) FROM persons') - was.persons, written);
  assert.equal(count('SELECT COUNT(*) FROM observations') - was.observations, written);
  assert.equal(count('SELECT COUNT(*) FROM status_changes') - was.changes, written);
  assert.equal(count('SELECT COUNT(*) FROM case_events') - was.events, 2 * written);
  // one code change a person, from its status change (the registration's
  // refresh changes nothing for a new person), as the row-by-row write
  assert.equal(count('SELECT COUNT(*) FROM code_history') - was.history, written);
  assert.equal(sqlRun(ctx, `SELECT DISTINCT cause || ':' || colour FROM code_history WHERE at >= ${t0}`).trim(), 'status:red');
  const obs = sqlRun(ctx, `SELECT person_id FROM observations WHERE created_at >= ${t0} ORDER BY id LIMIT 1`).trim();
  assert.equal((await cc.get(`/api/v1/persons/${obs}/code`)).body.colour, 'red');
  // the deferred counters: what a recount finds
  const level = (st) => count(`SELECT COALESCE(SUM(n), 0) FROM counters WHERE measure = 'person.status.${st}' AND day = 0`);
  for (const st of ['home_isolation', 'observation', 'normal'])
    assert.equal(level(st), count(`SELECT COUNT(*) FROM persons WHERE deleted_at = 0 AND status = '${st}'`), st);
  const v = ctx.fk(['stats', 'verify']);
  assert.equal(v.status, 0, v.stdout + v.stderr);
});

test('bad uploads are refused at once with nothing queued', async () => {
  const jobs = count('SELECT COUNT(*) FROM jobs');
  expectError(await upload(cc, Buffer.from('姓名,证件号码\n张三,1\n')), 400, 'invalid_xlsx');
  expectError(await upload(cc, Buffer.alloc(0)), 400, 'empty');
  expectError(await upload(cc, xlsx([HEAD])), 400, 'empty');
  expectError(await upload(cc, xlsx([HEAD, row()], 'Sheet1')), 400, 'xlsx_sheet_not_found');
  expectError(await upload(cc, xlsx([['名字', '号码'], ['张三', '1']])), 400, 'invalid_xlsx');
  // a zip bomb: 64 MB of blanks before the rows, compressed a thousandfold
  const src = path.join(ctx.dir, 'bomb-src.xlsx'), bomb = path.join(ctx.dir, 'bomb.xlsx');
  fs.writeFileSync(src, xlsx([HEAD, row()]));
  py(PY_BOMB, src, bomb);
  expectError(await upload(cc, fs.readFileSync(bomb)), 400, 'xlsx_too_large');
  // more than 100,000 data rows
  const many = path.join(ctx.dir, 'many.xlsx');
  py(PY_MANY, many);
  expectError(await upload(cc, fs.readFileSync(many)), 400, 'too_many_rows');
  // declaring its size, as Excel's files do: refused from the declaration
  const declared = path.join(ctx.dir, 'many-declared.xlsx');
  py(PY_DIM, many, declared, 'A1:C100003');
  expectError(await upload(cc, fs.readFileSync(declared)), 400, 'too_many_rows');
  // bad parameters, and no permission
  expectError(await upload(cc, xlsx([HEAD, row()]), '?duplicates=merge'), 400, 'invalid_parameter', 'duplicates');
  expectError(await upload(cc, xlsx([HEAD, row()]), '?dry_run=yes'), 400, 'invalid_parameter', 'dry_run');
  expectError(await upload(leader, xlsx([HEAD, row()])), 403, 'forbidden');
  assert.equal(count('SELECT COUNT(*) FROM jobs'), jobs, 'no job for a refused upload');
  // an E_INPUT refusal changes and reveals nothing: not audited (security/audit.h)
});

test('a file declaring fewer rows than it holds: its job refuses it whole at the cap, nothing written', async () => {
  // The upload's check reads the first rows and trusts the declared size for
  // the progress bar; the job counts what it reads.
  const many = path.join(ctx.dir, 'many-src.xlsx'), lying = path.join(ctx.dir, 'many-lying.xlsx');
  py(PY_MANY.replace("['张三']", `['张三', '居民身份证', '${rid()}']`), many);
  py(PY_DIM, many, lying, 'A1:C3');
  const people = count('SELECT COUNT(*) FROM persons');
  const up = await upload(cc, fs.readFileSync(lying));
  assert.equal(up.status, 202, JSON.stringify(up.body));
  assert.equal(count(`SELECT COUNT(*) FROM audit_log WHERE action = 'observation.import_upload' AND object_id = ${up.body.job_id} AND detail LIKE 'bytes=% rows=2%'`), 1,
    'the declared rows counted at the upload');
  let done;
  for (let t = 0; t < 600 && (!done || done.status === 'queued' || done.status === 'running'); t++) {
    if (done) await new Promise((r) => setTimeout(r, 50));
    done = (await cc.get(`/api/v1/jobs/${up.body.job_id}`)).body;
  }
  assert.equal(done.status, 'failed');
  assert.match(JSON.stringify(done.result), /too_many_rows/);
  assert.equal(count('SELECT COUNT(*) FROM persons'), people, 'nothing written');
});

test('the xlsx export: opens in openpyxl, masked, a cell beginning with = neutralised, reveal audited', async () => {
  const p = await cc.post('/api/v1/persons', { name: '牛魔王', id_number: rid(), region_code: COMMUNITY });
  assert.equal(p.status, 201, p.text);
  const o = await cc.post('/api/v1/observations', {
    person_id: p.body.id, kind: 'home_isolation', source: 'cdc', arrival_transport: '=1+2', note: '住在多福巷12号院',
  });
  assert.equal(o.status, 201, o.text);
  const d = await download(cc, '/api/v1/observations/export.xlsx?source=cdc');
  assert.equal(d.status, 200, d.buf.toString());
  assert.equal(d.type, XLSX);
  const t = readXlsx(d.buf);
  assert.deepEqual(t.sheets, ['隔离观察名单']);
  assert.equal(t.rows[0][1], '姓名');
  assert.equal(t.rows.length, 2, JSON.stringify(t.rows));
  const r = t.rows[1];
  assert.equal(r[0], o.body.id, 'the id whole, as text');
  assert.equal(r[1], '牛*王', 'masked');
  assert.equal(r[4], '居家隔离');
  assert.ok(!r.join().includes('多福巷12号'), 'the note masked');
  assert.equal(t.formulas, 0, 'no formula in an export');
  assert.ok(r[13].includes('=1+2'), r[13]);
  // reveal: with person.reveal only, audited as a reveal
  const full = readXlsx((await download(cc, '/api/v1/observations?format=xlsx&source=cdc&reveal=1')).buf);
  assert.equal(full.rows[1][1], '牛魔王');
  const a = await auditEntries(auditor, 'observation.export_reveal');
  assert.match(a[0].detail, /count=1 reveal/);
  expectError(await leader.get('/api/v1/observations/export.xlsx?reveal=1'), 403, 'reveal_forbidden', 'reveal');
  expectError(await cc.get('/api/v1/observations/export.xlsx?kind=tent'), 400, 'invalid_parameter', 'kind');
  // more than a page (1,000 rows): every row once
  const many = [HEAD];
  for (let i = 0; i < 1001; i++)
    many.push(row({ id: residentId('110101', `${1950 + (i % 40)}0${1 + (i % 9)}15`, 100 + Math.floor(i / 40)), source: '企业自主申报' }));
  const job = await upload(cc, xlsx(many));
  assert.equal((await jobDone(cc, job.body.job_id)).written, 1001);
  const big = readXlsx((await download(cc, '/api/v1/observations?format=xlsx&source=enterprise')).buf);
  assert.equal(big.rows.length, 1002);
  assert.equal(new Set(big.rows.slice(1).map((r) => r[0])).size, 1001);
  // scope: another district's export does not hold this one
  const other = readXlsx((await download(ccOther, '/api/v1/observations/export.xlsx?source=cdc')).buf);
  assert.equal(other.rows.length, 1, 'the header only');
});

test('every case list exports CSV and xlsx with the list filters: masked, formulas defused, reveal audited, bad format 400', async () => {
  const p = await cc.post('/api/v1/persons', { name: '白骨精', id_number: rid(), region_code: COMMUNITY, phone: '13911112222' });
  assert.equal(p.status, 201, p.text);
  const o = await cc.post('/api/v1/observations', { person_id: p.body.id, kind: 'home_isolation', source: 'cdc', note: '=HYPERLINK("x")' });
  assert.equal(o.status, 201, o.text);
  const c = await cc.post(`/api/v1/observations/${o.body.id}/checks`, { symptoms: ['cough'], temperature: 37.2 });
  assert.equal(c.status, 201, c.text);
  const t = await cc.post('/api/v1/tasks', {
    kind: 'general', region_code: COMMUNITY, assignee_role: 'grid_worker', deadline: Date.now() + DAY,
    title: '=导出专用任务', person_id: p.body.id, phone: '13911112222', address: '多福巷8号',
  });
  assert.equal(t.status, 201, t.text);
  const inc = await cc.post('/api/v1/reports', { source: 'cdc', category: 'other', name: '白骨精', phone: '13911112222', region_code: COMMUNITY });
  assert.equal(inc.status, 201, inc.text);
  const lists = [
    { path: `/api/v1/observations?person_id=${p.body.id}`, id: o.body.id, sheet: '隔离观察名单', action: 'observation.export', name: 1 },
    { path: `/api/v1/tasks?q=${encodeURIComponent('导出专用')}`, id: t.body.id, sheet: '任务', action: 'task.export', name: 10 },
    { path: `/api/v1/observations/${o.body.id}/checks?by=doctor`, id: c.body.id, sheet: '体征核查', action: 'check.export', name: 1 },
    { path: `/api/v1/incidents?category=other&source=cdc`, id: inc.body.id, sheet: '事件', action: 'incident.export', name: 5 },
  ];
  for (const l of lists) {
    const x = await download(cc, `${l.path}&format=xlsx`);
    assert.equal(x.status, 200, `${l.path}: ${x.buf}`);
    assert.equal(x.type, XLSX);
    const book = readXlsx(x.buf);
    assert.deepEqual(book.sheets, [l.sheet]);
    assert.equal(book.rows.length, 2, `${l.path}: the header and the one row of the filter: ${JSON.stringify(book.rows)}`);
    assert.equal(book.rows[1][0], l.id, 'the id whole, as text');
    assert.equal(book.rows[1][l.name], '白*精', `${l.path}: masked`);
    assert.ok(!JSON.stringify(book.rows).includes('13911112222'), 'the phone masked');
    assert.equal(book.formulas, 0, 'no formula in an export');
    const csv = await cc.get(`${l.path}&format=csv`);
    assert.equal(csv.status, 200, csv.text);
    assert.match(csv.headers.get('content-type'), /text\/csv/);
    const lines = csv.text.replace(/^\uFEFF/, '').trim().split(/\r?\n/);
    assert.equal(lines.length, 2, csv.text);
    assert.ok(lines[1].includes('白*精') && !csv.text.includes('白骨精'), csv.text);
    // the full values with person.reveal, audited as a reveal; refused without it
    const full = readXlsx((await download(cc, `${l.path}&format=xlsx&reveal=1`)).buf);
    assert.equal(full.rows[1][l.name], '白骨精', l.path);
    const a = await auditEntries(auditor, `${l.action}_reveal`);
    assert.match(a[0].detail, /format=xlsx count=1 reveal/, l.action);
    assert.ok((await auditEntries(auditor, l.action)).some((e) => /format=csv count=1/.test(e.detail)), l.action);
    expectError(await leader.get(`${l.path}&format=xlsx&reveal=1`), 403, 'reveal_forbidden', 'reveal');
    expectError(await cc.get(`${l.path}&format=pdf`), 400, 'invalid_parameter', 'format');
    expectError(await cc.get(`${l.path}&format=xlsx&reveal=yes`), 400, 'invalid_parameter', 'reveal');
  }
  // a cell that begins with = is text, not a formula
  const tasks = readXlsx((await download(cc, `/api/v1/tasks?q=${encodeURIComponent('导出专用')}&format=xlsx`)).buf);
  assert.ok(tasks.rows[1][2].endsWith('=导出专用任务'), tasks.rows[1][2]);
  const obs = readXlsx((await download(cc, `/api/v1/observations?person_id=${p.body.id}&format=xlsx&reveal=1`)).buf);
  assert.ok(obs.rows[1][17].includes('=HYPERLINK'), obs.rows[1][17]);
  // scope: another district's exports hold none of these
  for (const l of lists.filter((x) => !x.path.includes('/checks')))
    assert.equal(readXlsx((await download(ccOther, `${l.path}&format=xlsx`)).buf).rows.length, 1, l.path);
  expectError(await ccOther.get(`/api/v1/observations/${o.body.id}/checks?format=xlsx`), 404, 'not_found');
});
