// Hotline tickets (接诉即办, issue 10 "Other data"; docs/hotline.md): the
// template, an xlsx written by openpyxl with good and bad rows (a bad
// phone, a region outside the importer's street, a bad time, a formula),
// the dry run that writes nothing, the row error report, the links to a
// testing site and to a registered person, the matches and the counters by
// street and rule, a re-import that updates, a rule edit that re-applies,
// CSV, bad uploads and bad rule bodies, scope, masking, reveal and audit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { expectError, auditEntries, startCityWith, sqlRun } from './lib.mjs';

const PW = 'Passw0rd!hotline';
const DONGHUAMEN = '110101001000'; // 东华门街道
const DUOFU = '110101001001'; // 多福巷社区, in 东华门街道
const LONGFU = '110101002001'; // 隆福寺社区, in 景山街道: outside the street staff's scope
const PY = process.env.FK_PYTHON || '/usr/bin/python3';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const HEAD = ['工单编号*', '受理时间*', '来电人', '来电号码', '诉求地址', '所属区划*', '问题分类*', '诉求内容*', '办理状态'];
const CALLER = '13800138123'; // a registered person's phone
let ctx, cc, street, jingshan, leader, auditor, site, person;

const PY_WRITE = `
import json, sys, datetime, openpyxl
spec = json.load(open(sys.argv[1], encoding='utf-8'))
wb = openpyxl.Workbook()
ws = wb.active
ws.title = spec.get('sheet', '工单')
for row in spec['rows']:
    out = []
    for v in row:
        if isinstance(v, dict) and 'at' in v:
            out.append(datetime.datetime.strptime(v['at'], '%Y-%m-%d %H:%M'))
        else:
            out.append(v)
    ws.append(out)
wb.save(spec['out'])
`;
const PY_READ = `
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb[wb.sheetnames[0]]
out = {'sheets': wb.sheetnames, 'rows': [], 'marks': []}
for row in ws.iter_rows():
    out['rows'].append([None if c.value is None else str(c.value) for c in row])
    for c in row:
        if c.comment:
            out['marks'].append({'cell': c.coordinate, 'comment': c.comment.text})
print(json.dumps(out, ensure_ascii=False))
`;

const PY_MANY = `
import sys, openpyxl
wb = openpyxl.Workbook(write_only=True)
ws = wb.create_sheet('工单')
ws.append(${JSON.stringify(HEAD)})
for i in range(100003):
    ws.append(['N%d' % i, '2024-05-01', None, None, None, '${DUOFU}', '防疫', '内容'])
wb.save(sys.argv[1])
`;
function manyXlsx() {
  const name = 'many.xlsx';
  py(PY_MANY, path.join(ctx.dir, name));
  return name;
}

let seq = 0;
function py(script, ...args) {
  const f = path.join(ctx.dir, `py-${script.length}.py`);
  fs.writeFileSync(f, script);
  return execFileSync(PY, [f, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}
function xlsx(rows, sheet) {
  const out = path.join(ctx.dir, `hotline-${++seq}.xlsx`), spec = `${out}.json`;
  fs.writeFileSync(spec, JSON.stringify({ rows, sheet, out }));
  py(PY_WRITE, spec);
  return fs.readFileSync(out);
}
function readXlsx(buf) {
  const f = path.join(ctx.dir, `read-${++seq}.xlsx`);
  fs.writeFileSync(f, buf);
  return JSON.parse(py(PY_READ, f));
}
async function download(client, p) {
  const r = await fetch(ctx.url + p, { headers: { cookie: client.cookie } });
  return { status: r.status, type: r.headers.get('content-type'), buf: Buffer.from(await r.arrayBuffer()) };
}
const upload = (client, buf, query = '') =>
  client.post(`/api/v1/hotline/import${query}`, new Uint8Array(buf), { 'content-type': XLSX });
async function jobDone(client, id) {
  let j;
  for (let t = 0; t < 400; t++) {
    j = (await client.get(`/api/v1/jobs/${id}`)).body;
    if (j.status === 'done' || j.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(j.status, 'done', JSON.stringify(j));
  return j.result;
}
const count = (sql) => Number(sqlRun(ctx, sql).trim());
// The China date n days ago (yyyy-mm-dd), and a time on it.
const day = (n = 0) => new Date(Date.now() + 8 * 3600e3 - n * 86400e3).toISOString().slice(0, 10);

function row(over = {}) {
  const r = {
    no: `T${++seq}`, at: `${day(1)} 09:30`, name: '李四', phone: '', address: '多福巷2号', region: DUOFU,
    category: '疫情防控', content: '咨询', state: '已办结', ...over,
  };
  return [r.no, r.at, r.name, r.phone, r.address, r.region, r.category, r.content, r.state];
}

before(async () => {
  ctx = await startCityWith(
    {
      h_cc: ['command_center', '110101000000'],
      h_street: ['street_staff', DONGHUAMEN],
      h_jingshan: ['street_staff', '110101002000'],
      h_leader: ['leader', '110100000000'],
      h_auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ h_cc: cc, h_street: street, h_jingshan: jingshan, h_leader: leader, h_auditor: auditor } = ctx.as);
  const s = await cc.post('/api/v1/nat/sites', { name: '多福巷核酸采样点', kind: 'fixed', region_code: DUOFU });
  assert.equal(s.status, 201, s.text);
  site = s.body.id;
  // the same name in another street: never linked to a 东华门 ticket
  const s2 = await cc.post('/api/v1/nat/sites', { name: '隆福寺核酸采样点', kind: 'fixed', region_code: LONGFU });
  assert.equal(s2.status, 201, s2.text);
  const p = await cc.post('/api/v1/persons', { name: '王小明', id_number: '110101199003071234'.slice(0, 17) + 'X', region_code: DUOFU, phone: CALLER });
  if (p.status !== 201) {
    // the fixed id above may fail its checksum: register without one
    const q = await cc.post('/api/v1/persons', { name: '王小明', id_type: 'other', id_number: 'HL0001', region_code: DUOFU, phone: CALLER });
    assert.equal(q.status, 201, q.text);
    person = q.body.id;
  } else {
    person = p.body.id;
  }
});
after(async () => ctx?.stop());

test('the template: one sheet, the header and the hints; refused without hotline.import', async () => {
  const d = await download(street, '/api/v1/hotline/template.xlsx');
  assert.equal(d.status, 200);
  assert.equal(d.type, XLSX);
  const t = readXlsx(d.buf);
  assert.deepEqual(t.sheets, ['工单']);
  assert.deepEqual(t.rows[0], HEAD);
  assert.match(t.rows[1][5], /12位区划代码/);
  expectError(await leader.get('/api/v1/hotline/template.xlsx'), 403, 'forbidden');
});

test('bad uploads are refused before a job: empty, not a zip, no data, wrong header, bad CSV, too many rows', async () => {
  const jobs = count('SELECT COUNT(*) FROM jobs');
  expectError(await street.post('/api/v1/hotline/import', new Uint8Array(0), { 'content-type': XLSX }), 400, 'empty');
  expectError(await upload(street, Buffer.from('PK not really a zip')), 400, 'invalid_xlsx');
  expectError(await upload(street, Buffer.from('ticket,time\n1,2\n')), 400, 'invalid_xlsx');
  expectError(await upload(street, xlsx([HEAD])), 400, 'empty');
  expectError(await upload(street, xlsx([['编号', '时间'], ['1', '2']])), 400, 'invalid_xlsx');
  expectError(await upload(street, xlsx([HEAD], 'Sheet1')), 400, 'xlsx_sheet_not_found');
  expectError(await upload(street, Buffer.from('x'), '?format=pdf'), 400, 'invalid_parameter', 'format');
  expectError(await upload(street, Buffer.from('x'), '?dry_run=2'), 400, 'invalid_parameter', 'dry_run');
  expectError(await upload(street, Buffer.from(`${HEAD.join(',')}\n"unterminated\n`), '?format=csv'), 400, 'invalid_csv');
  const many = [HEAD.join(',')];
  for (let i = 0; i < 100003; i++) many.push(`N${i},2024-05-01,,,,${DUOFU},防疫,内容,`);
  expectError(await upload(street, Buffer.from(many.join('\n')), '?format=csv'), 400, 'too_many_rows');
  // the same cap for a workbook, and the route's body limit
  expectError(await upload(street, fs.readFileSync(path.join(ctx.dir, manyXlsx()))), 400, 'too_many_rows');
  const big = await upload(street, Buffer.alloc(20 * 1024 * 1024 + 1, 0x41));
  assert.equal(big.status, 413, big.text);
  expectError(await leader.post('/api/v1/hotline/import', new Uint8Array(1), { 'content-type': XLSX }), 403, 'forbidden');
  assert.equal(count('SELECT COUNT(*) FROM jobs'), jobs, 'no job for a refused upload');
  assert.equal(count('SELECT COUNT(*) FROM hotline_tickets'), 0);
});

let good1, good2, good3;
test('an import: dry run writes nothing; then valid rows written, linked, matched and counted; bad rows reported by row and field', async () => {
  good1 = `HL-${Date.now()}-1`;
  good2 = `HL-${Date.now()}-2`;
  good3 = `HL-${Date.now()}-3`;
  const file = xlsx([
    HEAD,
    ['必填：热线工单编号；同一编号再次导入将更新原工单'],
    row({ no: good1, at: { at: `${day(1)} 10:00` }, phone: CALLER, content: '多福巷核酸采样点排队人太多，等了很久' }),
    row({ no: good2, content: '核酸结果一直查不到结果，请帮忙', category: '卫生健康' }),
    row({ no: good3, content: '小区门口垃圾没人清理', category: '市容环境' }),
    row({ phone: '12345', content: '排队' }), // row 6: a bad phone
    row({ region: LONGFU, content: '排队' }), // row 7: outside the street
    row({ at: '昨天下午' }), // row 8: a bad time
    row({ content: '', state: '' }), // row 9: no content
  ]);
  const dry = await upload(street, file, '?dry_run=1');
  assert.equal(dry.status, 202, dry.text);
  assert.equal(dry.body.rows, 7);
  const d = await jobDone(street, dry.body.job_id);
  assert.equal(d.dry_run, true);
  assert.equal(d.valid, 3);
  assert.equal(d.written, 0);
  assert.equal(d.failed, 4);
  assert.equal(count('SELECT COUNT(*) FROM hotline_tickets'), 0, 'a dry run writes nothing');
  assert.equal(count("SELECT COUNT(*) FROM counters WHERE measure LIKE 'hotline.%' AND n <> 0"), 0);

  const up = await upload(street, file);
  assert.equal(up.status, 202, up.text);
  const res = await jobDone(street, up.body.job_id);
  assert.equal(res.written, 3);
  assert.equal(res.updated, 0);
  assert.equal(res.failed, 4);
  assert.equal(res.matched, 2);
  assert.equal(res.persons, 1);
  assert.equal(res.sites, 1);
  assert.equal(res.report, true);

  // the report: the failed rows by row number, the cell at fault marked
  const rep = await download(street, `/api/v1/jobs/${up.body.job_id}/errors.xlsx`);
  assert.equal(rep.status, 200);
  const t = readXlsx(rep.buf);
  assert.deepEqual(t.rows[0], ['行号', ...HEAD, '错误说明']);
  assert.deepEqual(t.rows.slice(1).map((r) => r[0]), ['6', '7', '8', '9']);
  const why = Object.fromEntries(t.rows.slice(1).map((r) => [r[0], r[r.length - 1]]));
  assert.match(why['6'], /来电号码：来电号码应为11位手机号码/);
  assert.match(why['7'], /所属区划\*：所属区划不存在或不在您的管辖范围内/);
  assert.match(why['8'], /受理时间\*：/);
  assert.match(why['9'], /请填写诉求内容/);
  // the report's rows 2..5 are the file's rows 6..9; 行号 is column A
  const marked = t.marks.map((m) => m.cell).sort();
  assert.deepEqual(marked, ['C4', 'E2', 'G3', 'I5'], JSON.stringify(t.marks)); // 来电号码, 所属区划, 受理时间, 诉求内容
  // another street's staff cannot read the report
  expectError(await jingshan.get(`/api/v1/jobs/${up.body.job_id}/errors.xlsx`), 404, 'not_found');

  // the list: names, not codes; masked caller; the rules, the site, the person
  const l = await street.get('/api/v1/hotline/tickets?page_size=50');
  assert.equal(l.status, 200, l.text);
  assert.equal(l.body.total, 3);
  const one = l.body.items.find((x) => x.ticket_no === good1);
  assert.equal(one.caller_phone, '138****8123');
  assert.equal(one.caller_name, '李*');
  assert.equal(one.street_name, '东华门街道');
  assert.equal(one.region_name, '多福巷社区');
  assert.equal(one.site_name, '多福巷核酸采样点');
  assert.equal(one.site_id, site);
  assert.equal(one.person_id, person);
  assert.equal(one.person_name, '王*明');
  assert.equal(one.rules, '核酸排队');
  const two = l.body.items.find((x) => x.ticket_no === good2);
  assert.equal(two.rules, '核酸结果查询');
  assert.equal(two.site_name, null);
  assert.equal(two.person_id, null);
  const three = l.body.items.find((x) => x.ticket_no === good3);
  assert.equal(three.rules, '');
  // the personal fields are sealed at rest: the phone's bytes are in no
  // stored ciphertext, while the same search finds a plain column's text
  // (the positive control: the search itself works)
  const holds = (col, text) => (ctx.dbUrl
    ? `position(convert_to('${text}', 'UTF8') in ${col}) > 0`
    : `instr(${col}, CAST('${text}' AS BLOB)) > 0`);
  assert.equal(count(`SELECT COUNT(*) FROM hotline_tickets WHERE caller_phone_enc IS NOT NULL`), 1);
  assert.equal(count(`SELECT COUNT(*) FROM hotline_tickets WHERE ${holds('caller_phone_enc', CALLER)} OR ${holds('caller_name_enc', '李四')}`), 0);
  const plain = ctx.dbUrl ? "convert_to(content, 'UTF8')" : 'CAST(content AS BLOB)';
  assert.equal(count(`SELECT COUNT(*) FROM hotline_tickets WHERE ${holds(plain, '排队人太多')}`), 1);

  // filters
  const rules = (await street.get('/api/v1/hotline/rules')).body.items;
  const queue = rules.find((r) => r.name === '核酸排队');
  assert.equal((await street.get(`/api/v1/hotline/tickets?rule_id=${queue.id}`)).body.total, 1);
  assert.equal((await street.get('/api/v1/hotline/tickets?matched=1')).body.total, 2);
  assert.equal((await street.get('/api/v1/hotline/tickets?matched=0')).body.total, 1);
  assert.equal((await street.get(`/api/v1/hotline/tickets?category=${encodeURIComponent('市容环境')}`)).body.total, 1);
  assert.equal((await street.get(`/api/v1/hotline/tickets?q=${encodeURIComponent('垃圾')}`)).body.total, 1);
  // from / to: epoch ms, the end included (the console's day range)
  const start = (n) => Date.parse(`${day(n)}T00:00:00+08:00`);
  assert.equal((await street.get(`/api/v1/hotline/tickets?from=${start(1)}&to=${start(0) - 1}`)).body.total, 3);
  assert.equal((await street.get(`/api/v1/hotline/tickets?from=${start(0)}`)).body.total, 0);
  assert.equal((await street.get(`/api/v1/hotline/tickets?to=${start(1) + 10 * 3600e3 - 1}`)).body.total, 2);
  assert.equal((await street.get(`/api/v1/hotline/tickets?to=${start(1) + 10 * 3600e3}`)).body.total, 3);
  assert.equal((await street.get(`/api/v1/hotline/tickets?street=${DONGHUAMEN}`)).body.total, 3);
  expectError(await street.get('/api/v1/hotline/tickets?street=110101002000'), 400, 'invalid_region', 'street');
  expectError(await street.get('/api/v1/hotline/tickets?from=2024-13-01'), 400, 'invalid_parameter', 'from');
  expectError(await street.get('/api/v1/hotline/tickets?to=-1'), 400, 'invalid_parameter', 'to');
  expectError(await street.get('/api/v1/hotline/tickets?rule_id=abc'), 400, 'invalid_parameter', 'rule_id');
  expectError(await street.get('/api/v1/hotline/tickets?matched=2'), 400, 'invalid_parameter', 'matched');

  // the counts by street and rule, from the counters
  const c = await street.get(`/api/v1/hotline/counts?from=${day(7)}&to=${day(0)}`);
  assert.equal(c.status, 200, c.text);
  assert.equal(c.body.tickets, 3);
  assert.equal(c.body.matched, 2);
  assert.deepEqual(c.body.streets.map((s) => s.name), ['东华门街道']);
  const qi = c.body.rules.findIndex((r) => r.name === '核酸排队');
  assert.equal(c.body.streets[0].by_rule[qi], 1);
  assert.equal(c.body.rules[qi].matches, 1);
  const dc = await cc.get(`/api/v1/hotline/counts?from=${day(7)}&to=${day(0)}`);
  assert.deepEqual(dc.body.streets.map((s) => [s.name, s.tickets]), [['东华门街道', 3], ['景山街道', 0]]);
  const csv = await cc.get(`/api/v1/hotline/counts?from=${day(7)}&to=${day(0)}&format=csv`);
  assert.equal(csv.status, 200);
  assert.match(csv.text, /街道,工单数,涉疫工单数/);
  assert.match(csv.text, /东华门街道,3,2/);
  expectError(await cc.get(`/api/v1/hotline/counts?from=${day(0)}&to=${day(3)}`), 400, 'invalid_parameter', 'from');
  expectError(await cc.get('/api/v1/hotline/counts?from=2020-01-01&to=2024-01-01'), 400, 'invalid_parameter', 'to');
  // every counter agrees with a recount from the tickets and matches
  assert.match(ctx.must(['stats', 'verify']), /every counter agrees/);
});

test('a re-import of the same numbers updates the tickets and moves the counters', async () => {
  const file = xlsx([
    HEAD,
    row({ no: good3, content: '想问核酸结果什么时候出，检测结果查不到', category: '卫生健康' }),
    row({ no: good2, content: '门口的灯坏了', category: '市容环境' }),
  ]);
  const up = await upload(street, file);
  assert.equal(up.status, 202, up.text);
  const res = await jobDone(street, up.body.job_id);
  assert.equal(res.written, 0);
  assert.equal(res.updated, 2);
  assert.equal(count('SELECT COUNT(*) FROM hotline_tickets'), 3, 'never a duplicate');
  const l = (await street.get('/api/v1/hotline/tickets?page_size=50')).body.items;
  assert.equal(l.find((x) => x.ticket_no === good3).rules, '核酸结果查询');
  assert.equal(l.find((x) => x.ticket_no === good2).rules, '');
  const c = (await street.get(`/api/v1/hotline/counts?from=${day(7)}`)).body;
  assert.equal(c.tickets, 3);
  assert.equal(c.matched, 2);
  assert.match(ctx.must(['stats', 'verify']), /every counter agrees/);
  // a CSV upload takes the same path
  const csv = `${HEAD.join(',')}\n${good2},${day(2)} 08:00,,,,${DUOFU},疫情防控,要求解除隔离管控,\n`;
  const cu = await street.post('/api/v1/hotline/import?format=csv', csv, { 'content-type': 'text/csv' });
  assert.equal(cu.status, 202, cu.text);
  const cr = await jobDone(street, cu.body.job_id);
  assert.equal(cr.updated, 1);
  const two = (await street.get('/api/v1/hotline/tickets?page_size=50')).body.items.find((x) => x.ticket_no === good2);
  assert.equal(two.rules, '隔离管控诉求');
  assert.equal(new Date(two.received_at + 8 * 3600e3).toISOString().slice(0, 16), `${day(2)}T08:00`);
  assert.match(ctx.must(['stats', 'verify']), /every counter agrees/);
});

test('rules: bad bodies refused; a new rule and an edit re-apply to every ticket; only the command centre writes', async () => {
  expectError(await cc.post('/api/v1/hotline/rules', { name: '发热求助' }), 400, 'required', 'keywords');
  expectError(await cc.post('/api/v1/hotline/rules', { name: '', keywords: ['发烧'] }), 400, 'required', 'name');
  expectError(await cc.post('/api/v1/hotline/rules', { name: '发热求助', keywords: 'x' }), 400, 'invalid_type', 'keywords');
  expectError(await cc.post('/api/v1/hotline/rules', { name: '发热求助', keywords: [1] }), 400, 'invalid_type', 'keywords');
  expectError(await cc.post('/api/v1/hotline/rules', { name: '发热求助', keywords: ['发烧'.repeat(20)] }), 400, 'invalid_value', 'keywords');
  expectError(await cc.post('/api/v1/hotline/rules', { name: '发热求助', keywords: ['发烧', '发烧'] }), 400, 'invalid_value', 'keywords');
  expectError(await cc.post('/api/v1/hotline/rules', { name: '发热求助', keywords: ['发烧'], excludes: ['发烧'] }), 400, 'invalid_value', 'excludes');
  expectError(await cc.post('/api/v1/hotline/rules', { name: '核酸排队', keywords: ['发烧'] }), 409, 'duplicate_rule', 'name');
  expectError(await cc.post('/api/v1/hotline/rules', { name: '发热求助', keywords: ['发烧'], color: 1 }), 400, 'unknown_field');
  expectError(await street.post('/api/v1/hotline/rules', { name: '发热求助', keywords: ['发烧'] }), 403, 'forbidden');
  const before = count('SELECT COUNT(*) FROM hotline_rules');

  // a rule on 灯: the lamp ticket matches it once the re-application ran
  const r = await cc.post('/api/v1/hotline/rules', { name: '设施报修', keywords: ['灯坏'], categories: ['市容环境'] });
  assert.equal(r.status, 201, r.text);
  assert.equal(count('SELECT COUNT(*) FROM hotline_rules'), before + 1);
  const j = await jobDone(cc, r.body.job_id);
  assert.equal(j.tickets, 3);
  const lamp = () => street.get(`/api/v1/hotline/tickets?rule_id=${r.body.rule.id}`);
  // good2 was re-imported as 隔离 with category 疫情防控: the lamp is gone
  assert.equal((await lamp()).body.total, 0);
  const upd = await cc.patch(`/api/v1/hotline/rules/${r.body.rule.id}`, { keywords: ['隔离'], categories: [], version: r.body.rule.version });
  assert.equal(upd.status, 200, upd.text);
  await jobDone(cc, upd.body.job_id);
  assert.equal((await lamp()).body.total, 1);
  let c = (await street.get(`/api/v1/hotline/counts?from=${day(7)}`)).body;
  const ri = c.rules.findIndex((x) => x.id === r.body.rule.id);
  assert.equal(c.streets[0].by_rule[ri], 1);
  // a stale version is refused, nothing changes
  expectError(await cc.patch(`/api/v1/hotline/rules/${r.body.rule.id}`, { enabled: false, version: 1 }), 409, 'version_conflict');
  // disabled: its matches go
  const off = await cc.patch(`/api/v1/hotline/rules/${r.body.rule.id}`, { enabled: false });
  assert.equal(off.status, 200, off.text);
  assert.equal(off.body.rule.enabled, false);
  await jobDone(cc, off.body.job_id);
  assert.equal((await lamp()).body.total, 0);
  c = (await street.get(`/api/v1/hotline/counts?from=${day(7)}`)).body;
  assert.equal(c.streets[0].by_rule[ri], 0);
  const del = await cc.del(`/api/v1/hotline/rules/${r.body.rule.id}`);
  assert.equal(del.status, 200, del.text);
  await jobDone(cc, del.body.job_id);
  expectError(await cc.del(`/api/v1/hotline/rules/${r.body.rule.id}`), 404, 'not_found');
  expectError(await cc.patch('/api/v1/hotline/rules/12345', { enabled: false }), 404, 'not_found');
  assert.match(ctx.must(['stats', 'verify']), /every counter agrees/);
  const audited = await auditEntries(auditor, 'hotline.rule.update');
  assert.ok(audited.some((e) => e.result === 'ok'));
  assert.ok((await auditEntries(auditor, 'hotline.rematch')).length >= 3);
});

test('scope: another street sees nothing and gets 404; masking, reveal and their audit', async () => {
  const all = (await street.get('/api/v1/hotline/tickets')).body.items;
  const id = all[0].id;
  const other = await jingshan.get('/api/v1/hotline/tickets');
  assert.equal(other.status, 200);
  assert.equal(other.body.total, 0);
  expectError(await jingshan.get(`/api/v1/hotline/tickets/${id}`), 404, 'not_found');
  const oc = (await jingshan.get(`/api/v1/hotline/counts?from=${day(7)}`)).body;
  assert.deepEqual(oc.streets.map((s) => [s.name, s.tickets]), [['景山街道', 0]]);
  expectError(await jingshan.get('/api/v1/hotline/tickets/abc'), 404, 'not_found');

  // street staff have no person.reveal
  expectError(await street.get(`/api/v1/hotline/tickets/${id}?reveal=1`), 403, 'reveal_forbidden');
  expectError(await street.get('/api/v1/hotline/tickets?reveal=1'), 403, 'reveal_forbidden');
  const masked = await street.get(`/api/v1/hotline/tickets/${id}`);
  assert.equal(masked.status, 200);
  const withPhone = (await cc.get('/api/v1/hotline/tickets?page_size=50')).body.items.find((x) => x.caller_phone);
  assert.equal(withPhone.caller_phone, '138****8123');
  const full = await cc.get(`/api/v1/hotline/tickets/${withPhone.id}?reveal=1`);
  assert.equal(full.status, 200);
  assert.equal(full.body.caller_phone, CALLER);
  assert.equal(full.body.caller_name, '李四');
  const reveals = await auditEntries(auditor, 'hotline.reveal', withPhone.id);
  assert.ok(reveals.some((e) => e.result === 'ok'), 'the reveal is audited');
  const lists = await auditEntries(auditor, 'hotline.list');
  assert.ok(lists.some((e) => e.result === 'ok'));
  // exports: masked unless revealed, audited
  const x = await street.get('/api/v1/hotline/tickets?format=csv');
  assert.equal(x.status, 200);
  assert.match(x.text, /工单编号,受理时间,来电人,来电号码/);
  assert.ok(x.text.includes('138****8123') && !x.text.includes(CALLER));
  assert.ok(x.text.includes('东华门街道'), 'names, never codes');
  const xl = await download(street, '/api/v1/hotline/tickets?format=xlsx');
  assert.equal(xl.status, 200);
  assert.equal(readXlsx(xl.buf).rows.length, 4);
  assert.ok((await auditEntries(auditor, 'hotline.export')).length >= 2);
  expectError(await street.get('/api/v1/hotline/tickets?format=pdf'), 400, 'invalid_parameter', 'format');
  // the same list as a background export job (POST /api/v1/exports): the
  // list's filters, masked, scoped
  const ej = await street.post('/api/v1/exports', { list: 'hotline_tickets', format: 'csv', filters: { matched: 1 } });
  assert.equal(ej.status, 202, ej.text);
  await jobDone(street, ej.body.job_id);
  const file = await fetch(`${ctx.url}/api/v1/jobs/${ej.body.job_id}/file`, { headers: { cookie: street.cookie } });
  assert.equal(file.status, 200);
  const text = await file.text();
  const matchedNow = (await street.get('/api/v1/hotline/tickets?matched=1')).body.total;
  assert.equal(text.trim().split('\n').length, 1 + matchedNow, text);
  assert.ok(!text.includes(CALLER));
  expectError(await street.post('/api/v1/exports', { list: 'hotline_tickets', filters: { matched: '3' } }), 400, 'invalid_parameter', 'filters.matched');
  expectError(await jingshan.get(`/api/v1/jobs/${ej.body.job_id}/file`), 404, 'not_found');
  // a ticket number another street owns cannot be taken over by an import
  const t = await upload(jingshan, xlsx([HEAD, row({ no: good1, region: LONGFU })]));
  const tr = await jobDone(jingshan, t.body.job_id);
  assert.equal(tr.failed, 1);
  assert.equal(tr.written + tr.updated, 0);
  assert.equal((await street.get('/api/v1/hotline/tickets?page_size=50')).body.items.find((y) => y.ticket_no === good1).region_name, '多福巷社区');
});
