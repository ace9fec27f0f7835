// The doctor's round of today (GET /api/v1/checks/round, docs/cases.md
// "The doctor's round"): the active home and central observations of the
// doctor's scope not yet checked today, by urgency (an abnormal last check,
// overdue, due, later), with masked names and addresses, day N of M and the
// last temperature; a check moves the person to "checked"; a hospital
// observation and another street's people are not on the round; the
// permission (check.write) and the audit entry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { residentId, startCityWith, sqlRun, waitForAudit } from './lib.mjs';

const PW = 'Passw0rd!round';
const COMMUNITY = '110101001001'; // 多福巷社区
const OTHER_STREET = '110101002001'; // 隆福寺社区, 景山街道
const H = 3600e3;
const DAY = 24 * H;
let ctx, cc, cs, doc, docOther, auditor;

let seq = 0;
const rid = () => residentId('110101', '19750505', 700 + ++seq * 2);

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

// a person of `region` observed since `ago` ms, of `kind`
async function observed(name, ago, { region = COMMUNITY, kind = 'home_isolation', address = '多福巷12号楼3单元501' } = {}) {
  const id = (await ok(cc.post('/api/v1/persons', { name, id_number: rid(), region_code: region, address }), 201)).id;
  const body = { person_id: id, kind, source: 'grid_patrol', start_at: Date.now() - ago };
  if (kind === 'hospital') Object.assign(body, { hospital: '地坛医院', handover: '张医生' });
  return (await ok(cc.post('/api/v1/observations', body), 201)).id;
}

// China midnight of today, as the server counts "checked today"
const todayStart = () => Math.floor((Date.now() + 8 * H) / DAY) * DAY - 8 * H;

before(async () => {
  ctx = await startCityWith(
    {
      k_cc: ['command_center', '110101000000'],
      k_cs: ['community_staff', COMMUNITY],
      k_doc: ['doctor', COMMUNITY],
      k_doc_other: ['doctor', OTHER_STREET],
      k_auditor: ['audit_admin', '110000000000'],
    },
    PW,
    { env: { FK_CHECK_SWEEP: '0' } },
  );
  ({ k_cc: cc, k_cs: cs, k_doc: doc, k_doc_other: docOther, k_auditor: auditor } = ctx.as);
});
after(async () => { await ctx?.stop(); });

let overdue, due, later, fever, hospital, elsewhere;

test('the round: due people by urgency, masked, day N of M, last temperature; others not on it', async () => {
  overdue = await observed('赵大明', 20 * H); // 12 h + 2 h grace passed
  due = await observed('钱二明', 13 * H); // due, inside the grace
  later = await observed('孙三明', 1 * H); // not due by the rule yet, still not checked today
  fever = await observed('李四明', 3 * DAY, { kind: 'home_observation', address: '' });
  hospital = await observed('周五明', 30 * H, { kind: 'hospital' });
  elsewhere = await observed('吴六明', 20 * H, { region: OTHER_STREET });
  // the fever was found at the last check, yesterday (China time)
  await ok(doc.post(`/api/v1/observations/${fever}/checks`, { symptoms: ['cough'], temperature: 38.2 }), 201);
  sqlRun(ctx, `UPDATE checks SET at = ${todayStart() - H} WHERE observation_id = ${fever}`);

  const r = await ok(doc.get('/api/v1/checks/round'));
  assert.deepEqual(r.due.map((o) => o.observation_id), [fever, overdue, due, later], JSON.stringify(r.due));
  assert.deepEqual(r.due.map((o) => o.urgency), ['abnormal', 'overdue', 'due', 'later']);
  assert.deepEqual(r.due.map((o) => o.urgency_label), ['上次核查异常', '已逾期', '应查', '今日待查']);
  assert.deepEqual(r.counts, { due: 4, checked: 0 });
  assert.deepEqual(r.checked, []);
  assert.equal(r.truncated, false);
  assert.match(r.day, /^\d{4}-\d{2}-\d{2}$/);
  const [f, o] = r.due;
  assert.equal(o.person_name, '赵*明');
  assert.equal(o.region_name, '多福巷社区');
  assert.ok(o.address && o.address !== '多福巷12号楼3单元501' && o.address.startsWith('多福巷'), o.address);
  assert.equal(o.kind_label, '居家隔离');
  assert.equal(o.days_total, 14);
  assert.equal(o.day, Math.floor((Date.now() + 8 * H) / DAY) - Math.floor((Date.now() - 20 * H + 8 * H) / DAY) + 1);
  assert.equal(o.last_temperature, null);
  assert.equal(o.last_check_at, null);
  assert.equal(f.last_temperature, 38.2);
  assert.equal(f.last_abnormal, true);
  assert.deepEqual(f.last_symptoms, ['咳嗽']);
  assert.equal(f.kind_label, '居家医学观察');
  assert.equal(f.address, '');
  assert.equal(f.day, 4);
  for (const x of r.due) assert.ok(![hospital, elsewhere].includes(x.observation_id));
});

test('a check today moves the person from due to checked; the other street\'s doctor sees only theirs', async () => {
  await ok(doc.post(`/api/v1/observations/${due}/checks`, { symptoms: [], temperature: 36.5 }), 201);
  const r = await ok(doc.get('/api/v1/checks/round'));
  assert.deepEqual(r.due.map((o) => o.observation_id), [fever, overdue, later]);
  assert.deepEqual(r.checked.map((o) => o.observation_id), [due]);
  assert.equal(r.checked[0].last_temperature, 36.5);
  assert.equal(r.checked[0].last_abnormal, false);
  assert.equal(r.checked[0].urgency, undefined, 'urgency is for the due ones');
  assert.deepEqual(r.counts, { due: 3, checked: 1 });

  const other = await ok(docOther.get('/api/v1/checks/round'));
  assert.deepEqual(other.due.map((o) => o.observation_id), [elsewhere]);
  assert.equal(other.due[0].person_name, '吴*明');
});

test('who may ask: community staff without check.write are refused; the round is audited', async () => {
  const r = await cs.get('/api/v1/checks/round');
  assert.equal(r.status, 403, r.text);
  const entries = await waitForAudit(auditor, 'action=check.round', (e) => /due=3 checked=1/.test(e.detail));
  assert.ok(entries.some((e) => e.username === 'k_doc'), JSON.stringify(entries[0]));
});
