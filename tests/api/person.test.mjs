// The person registry through the API: registering, finding, changing and
// deleting people; masking and reveal; name search over encrypted names;
// duplicates across the deployment; scope (another district sees nothing);
// the change history; CSV export; audit; and that every refused request
// changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startPeer, CITY_CSV, writeTmp, residentId, totpSecretFrom, sleep, onPostgres, waitForAudit, errOf, sqlRun, expectError } from './lib.mjs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const PW = 'Passw0rd!person';
let ctx;
let cc, cc2, gw1, gw2, leader, auditor;
const me = {};

const COMMUNITY = '110101001001'; // 东城区 多福巷社区 (gw1's scope)
const OTHER_COMMUNITY = '110101002001'; // 东城区 隆福寺社区 (outside gw1, inside cc)
const WEST = '110102001001'; // 西城区 府右街社区 (gw2 and cc2)

let seq = 0;
// A fresh valid resident id (unique per call).
function rid(birth = '19900307', male = true, prefix = '110101') {
  seq += 1;
  return residentId(prefix, birth, 100 + seq * 2, male);
}

function body(over = {}) {
  return { name: '张三丰', id_number: rid(), region_code: COMMUNITY, ...over };
}

async function signIn(username, secret) {
  const c = ctx.client();
  await c.login(username, PW, secret);
  me[username] = (await c.get('/api/v1/me')).body.id;
  return c;
}

// Every non-deleted person of the city, as the command centre counts them.
async function total() {
  const r = await cc.get('/api/v1/persons?page_size=1');
  assert.equal(r.status, 200);
  return r.body.total;
}

async function create(c, over = {}) {
  const r = await c.post('/api/v1/persons', body(over));
  assert.equal(r.status, 201, r.text);
  return r.body;
}

async function revealed(id) {
  const r = await cc.get(`/api/v1/persons/${id}?reveal=1`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

// Audit entries are written asynchronously: wait until `pred` holds.
const auditWhere = (query, pred) => waitForAudit(auditor, query, pred);

before(async () => {
  let secret;
  ctx = await startServer({
    // the exact-search limit has its own server below; here it stays out of the way
    env: { FK_EXACT_SEARCH_LIMIT: '100000' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      const add = (u, role, region) =>
        c.must(['user', 'add', '--username', u, '--password', PW, '--role', role, '--region', region]);
      add('p_cc', 'command_center', '110100000000');
      add('p_cc_west', 'command_center', '110102000000');
      add('p_gw1', 'grid_worker', COMMUNITY);
      add('p_gw2', 'grid_worker', WEST);
      add('p_leader', 'leader', '110101000000');
      secret = totpSecretFrom(add('p_auditor', 'audit_admin', '110100000000'));
    },
  });
  cc = await signIn('p_cc');
  cc2 = await signIn('p_cc_west');
  gw1 = await signIn('p_gw1');
  gw2 = await signIn('p_gw2');
  leader = await signIn('p_leader');
  auditor = await signIn('p_auditor', secret);
});

after(async () => {
  await ctx?.stop();
});

test('registering answers 201 with a masked record and derived fields', async () => {
  const id_number = residentId('110101', '19900307', 561, true);
  const r = await gw1.post('/api/v1/persons', {
    name: '张三丰',
    id_number: id_number.slice(0, 6) + ' ' + id_number.slice(6, 14) + ' ' + id_number.slice(14),
    region_code: COMMUNITY,
    phone: '13812345678',
    address: '北京市东城区多福巷1号楼2单元301',
    emergency_contact_name: '张翠山',
    emergency_contact_phone: '13987654321',
    work_address: '北京市东城区王府井大街8号',
    vulnerable: ['elderly_alone', 'chronic_disease'],
  });
  assert.equal(r.status, 201, r.text);
  const p = r.body;
  assert.match(p.id, /^\d+$/);
  assert.equal(p.name, '张*丰');
  assert.equal(p.id_number, `11***************${id_number.slice(17)}`);
  assert.equal(p.phone, '138****5678');
  assert.equal(p.emergency_contact_name, '张*山');
  assert.equal(p.emergency_contact_phone, '139****4321');
  assert.equal(p.address, '北京市东城区****');
  assert.equal(p.work_address, '北京市东城区****');
  // the full birth date is exactly what the masked id hides
  assert.equal(p.birth_date, '****-**-**');
  assert.equal(p.gender, 'male');
  assert.equal(typeof p.age, 'number');
  assert.ok(p.age >= 33);
  assert.equal(p.category, 'resident');
  assert.equal(p.status, 'normal');
  assert.equal(p.source, 'staff');
  assert.equal(p.inbound, false);
  assert.equal(p.region_code, COMMUNITY);
  assert.deepEqual(p.vulnerable, ['elderly_alone', 'chronic_disease']);
  assert.equal(p.version, 1);
  assert.equal(p.masked, true);
  assert.equal(p.created_by, me.p_gw1);
  assert.ok(Number.isInteger(p.created_at) && p.created_at === p.updated_at);

  const full = await revealed(p.id);
  assert.equal(full.name, '张三丰');
  assert.equal(full.id_number, id_number); // spaces dropped
  assert.equal(full.birth_date, '1990-03-07');
  assert.equal(full.phone, '13812345678');
  assert.equal(full.address, '北京市东城区多福巷1号楼2单元301');
  assert.equal(full.masked, false);
});

test('every field of the identity and contact groups is stored and returned', async () => {
  const b = {
    name: 'Tom 李',
    id_type: 'passport',
    id_number: 'e12345678',
    native_place: '广东省深圳市',
    gender: 'female',
    birth_date: '1985-12-31',
    category: 'returnee',
    inbound: true,
    region_code: COMMUNITY,
    address: '多福巷2号',
    household: '2-1-502',
    household_relation: '配偶',
    phone: '15900001111',
    emergency_contact_name: '李四',
    emergency_contact_phone: '18600002222',
    employed: true,
    employer: '某某科技有限公司',
    work_address: '朝阳区某路1号',
    current_location: '北京市东城区',
    vulnerable: ['pregnant'],
    status: 'home_isolation',
    source: 'grid',
  };
  const r = await gw1.post('/api/v1/persons', b);
  assert.equal(r.status, 201, r.text);
  const full = await revealed(r.body.id);
  for (const [k, v] of Object.entries(b)) {
    if (k === 'id_number') assert.equal(full[k], 'E12345678', k);
    else assert.deepEqual(full[k], v, k);
  }
  // a date given for a document that carries none is kept as given
  assert.equal(full.age >= 37, true);
  // a lower-case x of a resident id is the same number as an upper-case X
  const x = await gw1.post('/api/v1/persons', body({ id_number: '11010519491231002x', name: '李小龙' }));
  assert.equal(x.status, 201, x.text);
  assert.equal((await revealed(x.body.id)).id_number, '11010519491231002X');
  assert.equal(x.body.gender, 'female');
  const dup = await gw1.post('/api/v1/persons', body({ id_number: '11010519491231002X' }));
  assert.equal(dup.status, 409);
  assert.equal(errOf(dup).existing_id, x.body.id);
});

test('no session is 401, a role without the permission is 403', async () => {
  const anon = ctx.client();
  assert.equal((await anon.get('/api/v1/persons')).status, 401);
  assert.equal((await anon.post('/api/v1/persons', body())).status, 401);
  const p = await create(gw1, { name: '权限测试' });
  assert.equal((await anon.get(`/api/v1/persons/${p.id}`)).status, 401);
  const before_ = await total();
  // the leader reads but does not write
  assert.equal((await leader.get(`/api/v1/persons/${p.id}`)).status, 200);
  assert.equal((await leader.get('/api/v1/persons')).status, 200);
  assert.equal((await leader.post('/api/v1/persons', body())).status, 403);
  assert.equal((await leader.patch(`/api/v1/persons/${p.id}`, { name: '改' })).status, 403);
  assert.equal((await leader.del(`/api/v1/persons/${p.id}`)).status, 403);
  // the grid worker writes but does not delete
  assert.equal((await gw1.del(`/api/v1/persons/${p.id}`)).status, 403);
  // the administrators' roles (三员分立) carry no person rights
  assert.equal((await auditor.get('/api/v1/persons')).status, 403);
  assert.equal(await total(), before_);
  assert.equal((await revealed(p.id)).name, '权限测试');
  assert.equal((await cc.put(`/api/v1/persons/${p.id}`, {})).status, 405);
});

test('bad bodies are refused with the field at fault and change nothing', async () => {
  const n0 = await total();
  const long = (c, n) => c.repeat(n);
  const cases = [
    ['malformed JSON', '{"name": "张三", ', 'invalid_json', undefined],
    ['not an object', '[1,2]', 'invalid_json', undefined],
    ['wrong type: name', body({ name: 123 }), 'invalid_type', 'name'],
    ['wrong type: inbound', body({ inbound: 'yes' }), 'invalid_type', 'inbound'],
    ['wrong type: vulnerable', body({ vulnerable: 'child' }), 'invalid_type', 'vulnerable'],
    ['wrong type: consent_at', body({ consent_at: '2024-01-01' }), 'invalid_type', 'consent_at'],
    ['unknown field', body({ nickname: '老张' }), 'unknown_field', 'nickname'],
    ['version on create', body({ version: 1 }), 'unknown_field', 'version'],
    ['missing name', { id_number: rid(), region_code: COMMUNITY }, 'required', 'name'],
    ['missing id number', { name: '张三', region_code: COMMUNITY }, 'required', 'id_number'],
    ['missing region', { name: '张三', id_number: rid() }, 'required', 'region_code'],
    ['empty name', body({ name: '' }), 'required', 'name'],
    ['blank name', body({ name: '   ' }), 'required', 'name'],
    ['name with a line break', body({ name: '张\n三' }), 'invalid_value', 'name'],
    ['name of 51 characters', body({ name: long('张', 51) }), 'too_long', 'name'],
    ['address of 201 characters', body({ address: long('路', 201) }), 'too_long', 'address'],
    ['bad check character', body({ id_number: '110101199003070012' }), 'invalid_id_number', 'id_number'],
    ['bad birth date in id', body({ id_number: residentId('110101', '19900230', 3) }), 'invalid_id_number', 'id_number'],
    ['future birth date in id', body({ id_number: residentId('110101', '20990101', 3) }), 'invalid_id_number', 'id_number'],
    ['id of 17 characters', body({ id_number: '11010119900307001' }), 'invalid_id_number', 'id_number'],
    ['unknown province in id', body({ id_number: residentId('990101', '19900307', 3) }), 'invalid_id_number', 'id_number'],
    ['bad passport', body({ id_type: 'passport', id_number: 'E1' }), 'invalid_id_number', 'id_number'],
    ['unknown id type', body({ id_type: 'driving_licence' }), 'invalid_value', 'id_type'],
    ['phone of 10 digits', body({ phone: '1381234567' }), 'invalid_phone', 'phone'],
    ['landline', body({ phone: '010-12345678' }), 'invalid_phone', 'phone'],
    ['bad emergency phone', body({ emergency_contact_phone: '12345678901' }), 'invalid_phone', 'emergency_contact_phone'],
    ['birth date disagrees with id', body({ id_number: residentId('110101', '19900307', 5), birth_date: '1990-03-08' }), 'birth_date_mismatch', 'birth_date'],
    ['gender disagrees with id', body({ id_number: residentId('110101', '19900307', 5, true), gender: 'female' }), 'gender_mismatch', 'gender'],
    ['birth date not a date', body({ id_type: 'other', id_number: 'A-1', birth_date: '1990-02-30' }), 'invalid_birth_date', 'birth_date'],
    ['birth date shape', body({ id_type: 'other', id_number: 'A-2', birth_date: '19900101' }), 'invalid_birth_date', 'birth_date'],
    ['unknown region', body({ region_code: '110101009001' }), 'invalid_region', 'region_code'],
    ['malformed region', body({ region_code: '11010' }), 'invalid_region', 'region_code'],
    ['region outside scope', body({ region_code: OTHER_COMMUNITY }), 'invalid_region', 'region_code'],
    ['unknown vulnerable flag', body({ vulnerable: ['pregnant', 'vip'] }), 'invalid_value', 'vulnerable'],
    ['vulnerable flag not a string', body({ vulnerable: [1] }), 'invalid_value', 'vulnerable'],
    ['unknown status', body({ status: 'healthy' }), 'invalid_value', 'status'],
    ['unknown category', body({ category: 'tourist' }), 'invalid_value', 'category'],
    ['unknown source', body({ source: 'rumour' }), 'invalid_value', 'source'],
    ['negative consent time', body({ consent_at: -1 }), 'out_of_range', 'consent_at'],
    // only the resident gives consent, and only the resident declares a record as theirs
    ['staff set a consent time', body({ consent_at: 1700000000000 }), 'not_allowed', 'consent_at'],
    ['staff claim source self', body({ source: 'self' }), 'not_allowed', 'source'],
  ];
  for (const [what, b, code, field] of cases) {
    const r = await gw1.post('/api/v1/persons', b);
    assert.equal(r.status, 400, `${what}: ${r.text}`);
    assert.equal(errOf(r).code, code, what);
    assert.equal(errOf(r).field, field, what);
    assert.ok(errOf(r).message && /[\u4e00-\u9fff]/.test(errOf(r).message), `${what}: Chinese message`);
  }
  // a body over 1 MB
  const big = await gw1.post('/api/v1/persons', body({ address: 'x'.repeat(1100 * 1024) }));
  assert.equal(big.status, 413);
  // not JSON at all
  const txt = await gw1.post('/api/v1/persons', 'name=张三', { 'content-type': 'text/plain' });
  assert.equal(txt.status, 415);
  assert.equal(await total(), n0);
});

test('SQL metacharacters are stored and returned verbatim', async () => {
  const name = `O'Brien"; DROP TABLE persons;--`;
  const address = `1号楼'); DELETE FROM persons WHERE '1'='1'; -- %_\\ 😀`;
  const n0 = await total();
  const p = await create(gw1, { name, address, household: `' OR 1=1 --`, employer: '%' });
  assert.equal(await total(), n0 + 1);
  const full = await revealed(p.id);
  assert.equal(full.name, name);
  assert.equal(full.address, address);
  assert.equal(full.household, `' OR 1=1 --`);
  assert.equal(full.employer, '%');
  // the metacharacters work as plain text in a name search too
  const s = await cc.get(`/api/v1/persons?reveal=1&name=${encodeURIComponent('DROP TABLE')}`);
  assert.equal(s.status, 200);
  assert.deepEqual(s.body.items.map((x) => x.id), [p.id]);
  const none = await cc.get(`/api/v1/persons?name=${encodeURIComponent("' OR '1'='1")}`);
  assert.equal(none.status, 200);
  assert.equal(none.body.total, 0);
  const pct = await cc.get(`/api/v1/persons?name=${encodeURIComponent('%')}`);
  assert.equal(pct.body.total, 0);
});

test('a duplicate document is 409 with the existing id, without it outside the scope', async () => {
  const id_number = rid('19800101');
  const first = await create(gw1, { id_number, name: '王五' });
  const n0 = await total();
  const again = await gw1.post('/api/v1/persons', body({ id_number, name: '王五二' }));
  assert.equal(again.status, 409);
  assert.equal(errOf(again).code, 'duplicate_person');
  assert.equal(errOf(again).existing_id, first.id);
  // another district may not register the same person, and is not told its id
  const west = await gw2.post('/api/v1/persons', body({ id_number, region_code: WEST }));
  assert.equal(west.status, 409);
  assert.equal(errOf(west).code, 'duplicate_person');
  assert.equal(errOf(west).existing_id, undefined);
  assert.ok(!west.text.includes(first.id));
  // the same number with another document type is another document
  const other = await gw1.post('/api/v1/persons', body({ id_type: 'other', id_number }));
  assert.equal(other.status, 201, other.text);
  assert.equal(await total(), n0 + 1);
  // after a deletion the document may be registered again
  assert.equal((await cc.del(`/api/v1/persons/${first.id}`)).status, 204);
  const re = await gw2.post('/api/v1/persons', body({ id_number, region_code: WEST, name: '王五' }));
  assert.equal(re.status, 201, re.text);
});

test('a grid worker of another district sees nothing of this one', async () => {
  const id_number = rid('19700101');
  const p = await create(gw1, { id_number, name: '赵六', phone: '13611112222' });
  const missing = await gw2.get('/api/v1/persons/1234567890123');
  assert.equal(missing.status, 404);
  const r = await gw2.get(`/api/v1/persons/${p.id}`);
  assert.equal(r.status, 404);
  assert.deepEqual(r.body, missing.body); // the same answer as a missing id
  assert.equal((await gw2.get('/api/v1/persons/abc')).status, 404);
  assert.equal((await gw2.patch(`/api/v1/persons/${p.id}`, { name: '改' })).status, 404);
  assert.equal((await gw2.get(`/api/v1/persons/${p.id}/history`)).status, 404);
  assert.equal((await cc2.del(`/api/v1/persons/${p.id}`)).status, 404);
  assert.equal((await cc2.get(`/api/v1/persons/${p.id}?reveal=1`)).status, 404);
  for (const q of [`id_number=${id_number}`, 'phone=13611112222', `name=${encodeURIComponent('赵六')}`, `name=${encodeURIComponent('赵')}`, '']) {
    const s = await gw2.get(`/api/v1/persons?${q}`);
    assert.equal(s.status, 200, q);
    assert.ok(!s.body.items.some((x) => x.id === p.id), q);
  }
  const s = await gw2.get(`/api/v1/persons?id_number=${id_number}`);
  assert.deepEqual(s.body.items, []);
  assert.equal(s.body.total, 0);
  const reg = await gw2.get(`/api/v1/persons?region_code=${COMMUNITY}`);
  assert.equal(reg.status, 400);
  assert.equal(errOf(reg).code, 'invalid_region');
  assert.equal(errOf(reg).field, 'region_code');
  // the record is untouched
  const full = await revealed(p.id);
  assert.equal(full.name, '赵六');
  assert.equal(full.version, 1);
  // and the same worker in the same district sees it
  assert.equal((await gw1.get(`/api/v1/persons/${p.id}`)).status, 200);
});

test('search by document, phone, name, region and flags; sort and pages', async () => {
  const tag = '慕容';
  const mk = (over) => create(cc, { region_code: COMMUNITY, ...over });
  const a = await mk({ name: tag + '复', id_number: rid('19500101'), phone: '13700000001', category: 'visitor', vulnerable: ['elderly_alone'], inbound: true });
  const b = await mk({ name: tag + '龘龘靐', id_number: rid('19600101', false), category: 'visitor', status: 'observation' });
  const c = await mk({ name: tag + '龘靐', id_number: rid('20150101'), region_code: OTHER_COMMUNITY, vulnerable: ['child'] });
  const d = await mk({ name: '欧阳' + tag, id_number: rid('19800101'), region_code: WEST });
  const ids = (r) => r.body.items.map((x) => x.id);
  const get = async (q, c_ = cc) => {
    const r = await c_.get('/api/v1/persons?' + q);
    assert.equal(r.status, 200, `${q}: ${r.text}`);
    return r;
  };

  // exact document and phone
  const full = await revealed(b.id);
  assert.deepEqual(ids(await get(`id_number=${full.id_number}`)), [b.id]);
  assert.deepEqual(ids(await get(`id_number=${full.id_number.toLowerCase()}&id_type=resident_id`)), [b.id]);
  assert.deepEqual(ids(await get(`id_number=${full.id_number}&id_type=other`)), []);
  assert.deepEqual(ids(await get('phone=13700000001')), [a.id]);

  // names: one character is a surname, two are one bigram, three or more
  // are confirmed after decrypting: 慕容龘龘靐 holds both bigrams of 容龘靐
  // (容龘, 龘靐) but not the text, so the token match alone would be wrong
  const byName = async (q) => ids(await get('sort=created_at&page_size=200&name=' + encodeURIComponent(q)));
  assert.deepEqual(await byName(tag), [a.id, b.id, c.id, d.id]);
  assert.deepEqual(await byName('慕'), [a.id, b.id, c.id]); // surname only
  assert.deepEqual(await byName('容'), []); // not a surname
  assert.deepEqual(await byName('龘靐'), [b.id, c.id]);
  assert.deepEqual(await byName('容龘靐'), [c.id]);
  assert.deepEqual(await byName('慕容龘龘靐'), [b.id]);
  assert.deepEqual(await byName('欧阳慕容'), [d.id]);
  assert.deepEqual(await byName('阳慕容复'), []);
  const folded = await create(cc, { name: 'McDonald 麦', id_type: 'other', id_number: 'MC-1' });
  assert.deepEqual(await byName('mcdonald'), [folded.id]);
  assert.deepEqual(await byName('DON'), [folded.id]);

  // region subtree, category, status, vulnerable flag, inbound
  const within = async (q) => ids(await get((q.includes('sort=') ? '' : 'sort=created_at&') + 'page_size=200&name=' + encodeURIComponent(tag) + '&' + q));
  assert.deepEqual(await within(`region_code=${COMMUNITY}`), [a.id, b.id]);
  assert.deepEqual(await within('region_code=110101000000'), [a.id, b.id, c.id]);
  assert.deepEqual(await within('region_code=110102000000'), [d.id]);
  assert.deepEqual(await within('category=visitor'), [a.id, b.id]);
  assert.deepEqual(await within('status=observation'), [b.id]);
  assert.deepEqual(await within('vulnerable=child'), [c.id]);
  assert.deepEqual(await within('vulnerable=elderly_alone'), [a.id]);
  assert.deepEqual(await within('inbound=true'), [a.id]);
  assert.deepEqual(await within('inbound=0&category=visitor'), [b.id]);
  // a leader of 东城区 searches inside it only
  assert.deepEqual(ids(await get('sort=created_at&name=' + encodeURIComponent(tag), leader)), [a.id, b.id, c.id]);
  // the grid worker of the community sees its two
  assert.deepEqual(ids(await get('sort=created_at&name=' + encodeURIComponent(tag), gw1)), [a.id, b.id]);

  // sorting and paging
  assert.deepEqual(await within('sort=birth_date'), [a.id, b.id, d.id, c.id]);
  assert.deepEqual(await within('sort=-birth_date'), [c.id, d.id, b.id, a.id]);
  assert.deepEqual(await within('sort=-created_at'), [d.id, c.id, b.id, a.id]);
  const p1 = await get('sort=created_at&page_size=3&page=1&name=' + encodeURIComponent(tag));
  const p2 = await get('sort=created_at&page_size=3&page=2&name=' + encodeURIComponent(tag));
  assert.equal(p1.body.total, 4);
  assert.equal(p1.body.page_size, 3);
  assert.deepEqual(ids(p1), [a.id, b.id, c.id]);
  assert.deepEqual(ids(p2), [d.id]);
  assert.equal(p2.body.page, 2);
  const p3 = await get('sort=created_at&page_size=1&page=2&name=' + encodeURIComponent('容龘'));
  assert.equal(p3.body.total, 2);
  assert.deepEqual(ids(p3), [c.id]);

  // bad parameters
  for (const [q, field] of [
    ['sort=name', 'sort'],
    ['category=tourist', 'category'],
    ['status=healthy', 'status'],
    ['vulnerable=vip', 'vulnerable'],
    ['inbound=maybe', 'inbound'],
    ['page_size=500', 'page_size'],
    ['page=0', 'page'],
    ['id_number=110101199003070012', 'id_number'],
    ['id_type=card&id_number=1', 'id_type'],
    ['phone=123', 'phone'],
    ['region_code=999', 'region_code'],
    ['format=xml', 'format'],
    ['reveal=yes', 'reveal'],
    ['reveal=', 'reveal'], // one rule for every list (req_reveal): an empty value is no answer
    ['name=' + encodeURIComponent('张'.repeat(51)), 'name'],
  ]) {
    const r = await cc.get('/api/v1/persons?' + q);
    assert.equal(r.status, 400, `${q}: ${r.text}`);
    assert.equal(errOf(r).field, field, q);
  }
});

test('each person of a list carries the region name and its path, one look-up per distinct code', async () => {
  const inBuilding = await create(cc, { region_code: '110101001001001001' });
  const inCommunity = await create(cc, { region_code: COMMUNITY });
  const elsewhere = await create(cc, { region_code: OTHER_COMMUNITY });
  const r = await cc.get('/api/v1/persons?page_size=100');
  assert.equal(r.status, 200, r.text);
  const byId = Object.fromEntries(r.body.items.map((x) => [x.id, x]));
  assert.equal(byId[inBuilding.id].region_name, '1号楼');
  assert.equal(byId[inBuilding.id].region_path, '东华门街道 · 多福巷社区 · 第一网格 · 1号楼');
  assert.equal(byId[inCommunity.id].region_name, '多福巷社区');
  assert.equal(byId[inCommunity.id].region_path, '东华门街道 · 多福巷社区');
  assert.equal(byId[elsewhere.id].region_name, '隆福寺社区');
  assert.equal(byId[elsewhere.id].region_path, '景山街道 · 隆福寺社区');
  // every item has both, and the name stays masked without reveal
  assert.ok(r.body.items.every((x) => x.region_name && x.region_path.endsWith(x.region_name)), r.text);
  assert.equal(byId[inCommunity.id].name, '张*丰');
});

test('one person carries the region name and its path like the list, revealed or not', async () => {
  const inBuilding = await create(cc, { region_code: '110101001001001001' });
  const elsewhere = await create(cc, { region_code: OTHER_COMMUNITY });
  let r = await cc.get(`/api/v1/persons/${inBuilding.id}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.region_name, '1号楼');
  assert.equal(r.body.region_path, '东华门街道 · 多福巷社区 · 第一网格 · 1号楼');
  assert.equal(r.body.name, '张*丰');
  const list = await cc.get('/api/v1/persons?page_size=100');
  const item = list.body.items.find((x) => x.id === elsewhere.id);
  r = await cc.get(`/api/v1/persons/${elsewhere.id}?reveal=1`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.region_name, item.region_name);
  assert.equal(r.body.region_path, item.region_path);
  assert.equal(r.body.region_path, '景山街道 · 隆福寺社区');
});

test('reveal needs the permission, is asked for, and is audited', async () => {
  const p = await create(gw1, { name: '周芷若', phone: '13566667777' });
  for (const c of [gw1, leader]) {
    for (const path of [`/api/v1/persons/${p.id}?reveal=1`, '/api/v1/persons?reveal=1', `/api/v1/persons/${p.id}/history?reveal=1`]) {
      const r = await c.get(path);
      assert.equal(r.status, 403, path);
      assert.equal(errOf(r).code, 'reveal_forbidden');
    }
  }
  const w = await gw1.post('/api/v1/persons?reveal=1', body());
  assert.equal(w.status, 403);
  // without asking, even the command centre gets masked values
  const m = await cc.get(`/api/v1/persons/${p.id}`);
  assert.equal(m.body.name, '周*若');
  assert.equal(m.body.phone, '135****7777');
  const full = await cc.get(`/api/v1/persons/${p.id}?reveal=1`);
  assert.equal(full.body.name, '周芷若');
  assert.equal(full.body.phone, '13566667777');
  const items = await auditWhere(`action=person.reveal&object_id=${p.id}`, (x) => x.detail === 'view=read');
  const e = items.find((x) => x.detail === 'view=read');
  assert.ok(e, 'person.reveal audited');
  assert.equal(e.user_id, me.p_cc);
  assert.equal(e.result, 'ok');
  assert.ok(!JSON.stringify(items).includes('周芷若'));
  assert.ok(!JSON.stringify(items).includes('13566667777'));
  const reads = await auditWhere(`action=person.read&object_id=${p.id}`, (x) => x.user_id === me.p_cc);
  assert.ok(reads.some((x) => x.user_id === me.p_cc));
});

test('PATCH changes fields, checks the version and keeps failures harmless', async () => {
  const p = await create(gw1, { name: '殷素素', phone: '13500001111', address: '多福巷5号' });
  // the status belongs to the case workflow's state machine: refused here
  let r = await gw1.patch(`/api/v1/persons/${p.id}`, { phone: '13500002222', status: 'confirmed', version: 1 });
  expectError(r, 409, 'status_by_workflow', 'status');
  r = await gw1.patch(`/api/v1/persons/${p.id}`, { phone: '13500002222', version: 1 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.version, 2);
  assert.equal(r.body.phone, '135****2222');
  assert.equal(r.body.status, 'normal');
  assert.equal(r.body.updated_by, me.p_gw1);
  const v = r.body.version;
  const other = await create(gw1, { name: '他人' });
  const otherId = (await revealed(other.id)).id_number;
  const histBefore = (await cc.get(`/api/v1/persons/${p.id}/history?page_size=200`)).body.total;
  const refused = [
    [{ name: '改名', version: 1 }, 409, 'version_conflict'],
    [{ id_number: otherId }, 409, 'duplicate_person'],
    [{ name: null }, 400, 'invalid_type'],
    [{ region_code: OTHER_COMMUNITY }, 400, 'invalid_region'],
    [{ region_code: WEST }, 400, 'invalid_region'],
    [{ birth_date: '1990-03-08' }, 400, 'birth_date_mismatch'],
    [{ phone: '110' }, 400, 'invalid_phone'],
    [{ nickname: 'x' }, 400, 'unknown_field'],
    [{ version: 'two' }, 400, 'invalid_type'],
    [{ version: 0 }, 400, 'out_of_range'],
    [{ address: '路'.repeat(201) }, 400, 'too_long'],
  ];
  for (const [b, status, code] of refused) {
    r = await gw1.patch(`/api/v1/persons/${p.id}`, b);
    assert.equal(r.status, status, `${JSON.stringify(b).slice(0, 60)}: ${r.text}`);
    assert.equal(errOf(r).code, code);
  }
  r = await gw1.patch(`/api/v1/persons/${p.id}`, '{"name": ');
  assert.equal(r.status, 400);
  assert.equal(errOf(r).code, 'invalid_json');
  const dup = await gw1.patch(`/api/v1/persons/${p.id}`, { id_number: otherId });
  assert.equal(errOf(dup).existing_id, other.id);
  let full = await revealed(p.id);
  assert.equal(full.version, v);
  assert.equal(full.name, '殷素素');
  assert.equal(full.phone, '13500002222');
  assert.equal(full.region_code, COMMUNITY);
  assert.equal((await cc.get(`/api/v1/persons/${p.id}/history?page_size=200`)).body.total, histBefore);

  // null clears an optional field; an empty PATCH changes nothing
  r = await gw1.patch(`/api/v1/persons/${p.id}`, { phone: null, address: null, vulnerable: ['disabled'] });
  assert.equal(r.status, 200);
  assert.equal(r.body.phone, null);
  assert.equal(r.body.address, null);
  assert.deepEqual(r.body.vulnerable, ['disabled']);
  const same = await gw1.patch(`/api/v1/persons/${p.id}`, {});
  assert.equal(same.status, 200);
  assert.equal(same.body.version, r.body.version);
  // a new name is found by search, the old one no longer
  r = await gw1.patch(`/api/v1/persons/${p.id}`, { name: '纪晓芙' });
  assert.equal(r.status, 200);
  const found = async (q) => (await cc.get('/api/v1/persons?name=' + encodeURIComponent(q))).body.items.map((x) => x.id);
  assert.ok((await found('晓芙')).includes(p.id));
  assert.ok(!(await found('素素')).includes(p.id));
  assert.ok(!(await found('殷')).includes(p.id));
  // a new resident id brings its own birth date and gender
  const nid = residentId('110101', '20010203', 77, false);
  r = await gw1.patch(`/api/v1/persons/${p.id}`, { id_number: nid });
  assert.equal(r.status, 200, r.text);
  full = await revealed(p.id);
  assert.equal(full.birth_date, '2001-02-03');
  assert.equal(full.gender, 'female');
  // moving inside the scope is allowed
  r = await cc.patch(`/api/v1/persons/${p.id}`, { region_code: OTHER_COMMUNITY });
  assert.equal(r.status, 200);
  assert.equal((await gw1.get(`/api/v1/persons/${p.id}`)).status, 404);
});

test('the history lists each change with who, when and what, masked', async () => {
  const p = await create(gw1, { name: '宋青书', phone: '13800001234', address: '多福巷9号院' });
  assert.equal((await gw1.patch(`/api/v1/persons/${p.id}`, { phone: '13800005678' })).status, 200);
  assert.equal((await cc.patch(`/api/v1/persons/${p.id}`, { name: '宋远桥', category: 'transit', version: 2 })).status, 200);
  const h = await gw1.get(`/api/v1/persons/${p.id}/history`);
  assert.equal(h.status, 200, h.text);
  assert.equal(h.body.total, 3);
  const [second, first, created] = h.body.items;
  assert.deepEqual(h.body.items.map((x) => x.action), ['update', 'update', 'create']);
  assert.equal(second.user_id, me.p_cc);
  assert.equal(first.user_id, me.p_gw1);
  assert.equal(created.user_id, me.p_gw1);
  // who, by name and login, so a reader need not look accounts up
  assert.match(second.user_name, /（p_cc）$/);
  assert.match(first.user_name, /（p_gw1）$/);
  assert.ok(second.at >= first.at && first.at >= created.at);
  assert.deepEqual(second.changes, { category: ['resident', 'transit'], name: ['宋*书', '宋*桥'] });
  assert.deepEqual(first.changes, { phone: ['138****1234', '138****5678'] });
  assert.deepEqual(created.changes.name, [null, '宋*书']);
  assert.deepEqual(created.changes.address, [null, '多福巷****']);
  assert.ok(!h.text.includes('宋青书') && !h.text.includes('13800001234'));
  const full = await cc.get(`/api/v1/persons/${p.id}/history?reveal=1`);
  assert.deepEqual(full.body.items[0].changes.name, ['宋青书', '宋远桥']);
  assert.deepEqual(full.body.items[1].changes.phone, ['13800001234', '13800005678']);
  const page = await gw1.get(`/api/v1/persons/${p.id}/history?page_size=1&page=3`);
  assert.deepEqual(page.body.items.map((x) => x.action), ['create']);
  const aud = await auditWhere(`action=person.history&object_id=${p.id}`, () => true);
  assert.ok(aud.some((x) => x.user_id === me.p_gw1 && /count=3/.test(x.detail)));
});

test('DELETE removes the person from reads and search, once', async () => {
  const p = await create(gw1, { name: '灭绝师太', phone: '13312340000' });
  const n0 = await total();
  const r = await cc.del(`/api/v1/persons/${p.id}`);
  assert.equal(r.status, 204);
  assert.equal(r.text, '');
  assert.equal(await total(), n0 - 1);
  assert.equal((await cc.get(`/api/v1/persons/${p.id}`)).status, 404);
  assert.equal((await cc.get(`/api/v1/persons/${p.id}/history`)).status, 404);
  assert.equal((await cc.patch(`/api/v1/persons/${p.id}`, { name: '改' })).status, 404);
  assert.equal((await cc.del(`/api/v1/persons/${p.id}`)).status, 404);
  assert.equal((await cc.get('/api/v1/persons?phone=13312340000')).body.total, 0);
  assert.equal((await cc.get('/api/v1/persons?name=' + encodeURIComponent('灭绝'))).body.total, 0);
  assert.equal((await cc.del('/api/v1/persons/0')).status, 404);
  // deleted once; the refused second delete and the update of the deleted
  // record are audited as refusals (one policy, security/audit.h)
  const aud = await auditWhere(`action=person.delete&object_id=${p.id}`, (x) => x.result === 'not_found');
  assert.deepEqual(aud.map((x) => x.result).sort(), ['not_found', 'ok']);
  const upd = await auditWhere(`action=person.update&object_id=${p.id}`, (x) => x.result === 'not_found');
  assert.ok(upd.some((x) => x.result === 'not_found'));
});

test('CSV export: masked, Chinese header, attachment, audited like the list', async () => {
  const p = await create(gw1, { name: '=HYPERLINK("x")', phone: '13911112222', address: '多福巷8号,东侧' });
  const r = await cc.get('/api/v1/persons?format=csv&phone=13911112222');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^text\/csv/);
  assert.match(r.headers.get('content-disposition'), /^attachment/);
  const raw = Buffer.from(await (await fetch(ctx.url + '/api/v1/persons?format=csv&phone=13911112222', { headers: { cookie: cc.cookie } })).arrayBuffer());
  assert.deepEqual([...raw.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  const lines = r.text.replace(/^\uFEFF/, '').trim().split('\r\n');
  assert.equal(lines.length, 2);
  assert.ok(lines[0].startsWith('编号,姓名,证件类型,证件号码'));
  // a 19-digit id is text behind a tab, so a spreadsheet keeps every digit
  assert.ok(lines[1].startsWith(`"\t${p.id}",`), lines[1]);
  assert.ok(lines[1].includes('139****2222'));
  assert.ok(lines[1].includes('居民身份证'));
  assert.ok(lines[1].includes('"多福巷8号,****"'));
  assert.ok(!r.text.includes('13911112222'));
  assert.ok(!r.text.includes(',=')); // a formula never starts a cell
  const aud = await auditWhere('action=person.list', (x) => x.detail === 'view=list count=1 format=csv');
  assert.ok(aud.some((x) => x.detail === 'view=list count=1 format=csv field=phone' && x.user_id === me.p_cc));
});

test('CSV export with reveal=1: full values for person.reveal, audited as person.export', async () => {
  const p = await create(gw1, { name: '导出全值', phone: '13911113333', address: '多福巷9号,西侧' });
  const full = await revealed(p.id);
  const r = await cc.get('/api/v1/persons?format=csv&reveal=1&phone=13911113333');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^text\/csv/);
  const lines = r.text.replace(/^\uFEFF/, '').trim().split('\r\n');
  assert.equal(lines.length, 2);
  assert.ok(lines[1].includes('导出全值'), lines[1]);
  assert.ok(lines[1].includes('13911113333'), lines[1]);
  assert.ok(lines[1].includes(full.id_number), lines[1]);
  assert.ok(lines[1].includes('"多福巷9号,西侧"'), lines[1]);
  const aud = await auditWhere(`action=person.export&user_id=${me.p_cc}`, (x) => x.result === 'ok');
  const e = aud.find((x) => x.result === 'ok');
  assert.ok(e, 'person.export audited');
  assert.equal(e.detail, 'view=list count=1 format=csv field=phone reveal=1');
  assert.equal(e.object_id, p.id);
  // without person.reveal: 403, nothing exported, the refusal on record
  const refused = await gw1.get('/api/v1/persons?format=csv&reveal=1&phone=13911113333');
  assert.equal(refused.status, 403, refused.text);
  assert.equal(errOf(refused).code, 'reveal_forbidden');
  assert.equal(errOf(refused).field, 'reveal');
  assert.ok(!refused.text.includes('13911113333'));
  const no = await auditWhere(`action=person.export&user_id=${me.p_gw1}`, (x) => x.result === 'reveal_forbidden');
  assert.ok(no.some((x) => x.result === 'reveal_forbidden' && x.detail === 'format=csv reveal=1'), JSON.stringify(no));
});

test('the list filters by code colour and shows it in each item, inside the scope', async () => {
  const red = await create(gw1, { name: '红码甲', status: 'confirmed' });
  const green = await create(gw1, { name: '绿码乙' });
  const far = await create(gw2, { name: '红码丙', region_code: WEST, status: 'confirmed' });
  const ids = (r) => r.body.items.map((x) => x.id);
  const reds = await gw1.get('/api/v1/persons?code_color=red&page_size=100');
  assert.equal(reds.status, 200, reds.text);
  assert.ok(ids(reds).includes(red.id));
  assert.ok(!ids(reds).includes(green.id));
  assert.ok(!ids(reds).includes(far.id), 'another district stays out of scope');
  assert.ok(reds.body.items.length > 0);
  for (const x of reds.body.items) {
    assert.equal(x.code_color, 'red');
    assert.equal(x.code_color_name, '红码');
  }
  const greens = await gw1.get('/api/v1/persons?code_color=green&page_size=100');
  assert.equal(greens.status, 200, greens.text);
  assert.ok(ids(greens).includes(green.id));
  assert.ok(!ids(greens).includes(red.id));
  const item = greens.body.items.find((x) => x.id === green.id);
  assert.equal(item.code_color, 'green');
  assert.equal(item.code_color_name, '绿码');
  const yellows = await gw1.get('/api/v1/persons?code_color=yellow&page_size=100');
  assert.equal(yellows.status, 200, yellows.text);
  assert.ok(!ids(yellows).includes(red.id) && !ids(yellows).includes(green.id));
  // the unfiltered list carries the colour too
  const all = await gw1.get('/api/v1/persons?page_size=100');
  assert.equal(all.body.items.find((x) => x.id === red.id).code_color, 'red');
  for (const bad of ['purple', 'RED', '1']) {
    const r = await gw1.get(`/api/v1/persons?code_color=${bad}`);
    assert.equal(r.status, 400, r.text);
    assert.equal(errOf(r).code, 'invalid_parameter');
    assert.equal(errOf(r).field, 'code_color');
    assert.ok(errOf(r).message);
  }
});

test('one pass: JSON errors and the record\'s own rules are answered together, nothing written', async () => {
  const before = await total();
  const good = rid();
  const r = await gw1.post('/api/v1/persons', {
    name: 42, // JSON: wrong type
    id_number: good.slice(0, 17) + (good[17] === '1' ? '2' : '1'), // rule: a wrong check character
    region_code: WEST, // rule: outside the grid worker's scope
    phone: '12345', // rule: not a mobile number
    household: 'x'.repeat(65), // JSON: too long
    status: 'sleeping', // JSON: not in the vocabulary
    vulnerable: ['pregnant', 'flying'], // conversion: an unknown flag
    birth_date: '1990-13-01', // conversion: no such date
  });
  assert.equal(r.status, 400, r.text);
  const got = Object.fromEntries((errOf(r).fields ?? []).map((f) => [f.field, f.code]));
  assert.deepEqual(got, {
    name: 'invalid_type',
    household: 'too_long',
    status: 'invalid_value',
    vulnerable: 'invalid_value',
    birth_date: 'invalid_birth_date',
    id_number: 'invalid_id_number',
    region_code: 'invalid_region',
    phone: 'invalid_phone',
  });
  assert.ok(errOf(r).fields.every((f) => /\p{Script=Han}/u.test(f.message)));
  assert.equal(await total(), before);
  // a change is checked as the stored record with the change applied, in one pass too
  const p = await create(gw1, { name: '一次校验' });
  const c = await gw1.patch(`/api/v1/persons/${p.id}`, { phone: '1', employed: 'yes', region_code: WEST, nickname: 'x' });
  assert.equal(c.status, 400, c.text);
  const cg = Object.fromEntries(errOf(c).fields.map((f) => [f.field, f.code]));
  assert.deepEqual(cg, { employed: 'invalid_type', nickname: 'unknown_field', phone: 'invalid_phone', region_code: 'invalid_region' });
  assert.equal((await revealed(p.id)).version, 1);
});

test('each write and read is audited once, with counts and no personal data', async () => {
  const p = await create(gw1, { name: '审计员甲', phone: '13722223333' });
  await gw1.patch(`/api/v1/persons/${p.id}`, { phone: '13722224444' });
  await gw1.get('/api/v1/persons?name=' + encodeURIComponent('审计员'));
  await gw1.post('/api/v1/persons', body({ id_number: (await revealed(p.id)).id_number }));
  const create_ = await auditWhere(`action=person.create&object_id=${p.id}`, () => true);
  assert.equal(create_.length, 1);
  assert.equal(create_[0].user_id, me.p_gw1);
  assert.match(create_[0].detail, /^fields=name,id_number,region_code,phone$/);
  const upd = await auditWhere(`action=person.update&object_id=${p.id}`, () => true);
  assert.deepEqual(upd.map((x) => x.detail), ['fields=phone']);
  const lists = await auditWhere(`action=person.list&user_id=${me.p_gw1}`, (x) => x.detail === 'view=list count=1 field=name');
  assert.ok(lists.some((x) => x.detail === 'view=list count=1 field=name'));
  const dup = await auditWhere(`action=person.create&user_id=${me.p_gw1}`, (x) => x.result === 'duplicate_person');
  assert.ok(dup.some((x) => x.result === 'duplicate_person'));
  const all = await auditWhere('action=person.*', () => true);
  const text = JSON.stringify(all);
  for (const secret of ['审计员甲', '13722223333', '13722224444']) assert.ok(!text.includes(secret), secret);
});

test('staff cannot set the consent time or claim a record as self-declared', async () => {
  const p = await create(gw1, { name: '同意测试' });
  for (const [b, field] of [[{ consent_at: Date.now() }, 'consent_at'], [{ source: 'self' }, 'source']]) {
    const r = await gw1.patch(`/api/v1/persons/${p.id}`, { ...b, version: 1 });
    assert.equal(r.status, 400, r.text);
    assert.equal(errOf(r).code, 'not_allowed');
    assert.equal(errOf(r).field, field);
  }
  const full = await revealed(p.id);
  assert.equal(full.consent_at, null);
  assert.equal(full.source, 'staff');
  assert.equal(full.version, 1);
  // an edit form's empty consent field changes nothing
  const ok = await gw1.patch(`/api/v1/persons/${p.id}`, { consent_at: null, source: 'grid', version: 1 });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.source, 'grid');
});

// ---- issue 8: exact searches, phone last four, verification ------------------------

test('exact searches: limited per user across servers, 429 beyond, one alert for the security admin, audited by field', async () => {
  let secSecret;
  const lim = await startServer({
    env: { FK_EXACT_SEARCH_LIMIT: '3' },
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      const add = (u, role, region) =>
        c.must(['user', 'add', '--username', u, '--password', PW, '--role', role, '--region', region]);
      add('x_gw', 'grid_worker', COMMUNITY);
      add('x_gw2', 'grid_worker', COMMUNITY);
      secSecret = totpSecretFrom(add('x_sec', 'security_admin', '110000000000'));
      add('x_leader', 'leader', '110101000000');
    },
  });
  const peer = await startPeer(lim);
  try {
    const login = async (srv, u, secret) => {
      const c = srv.client();
      await c.login(u, PW, secret);
      return c;
    };
    const gw = await login(lim, 'x_gw');
    const gwOnPeer = await login(peer, 'x_gw');
    const gw2 = await login(lim, 'x_gw2');
    const sec = await login(lim, 'x_sec', secSecret);
    const idn = rid();
    let r = await gw.post('/api/v1/persons', body({ id_number: idn, phone: '13855554321' }));
    assert.equal(r.status, 201, r.text);
    // not exact: never counted
    for (let i = 0; i < 5; i++) assert.equal((await gw.get(`/api/v1/persons?region_code=${COMMUNITY}`)).status, 200);
    // three exact searches pass (two on this server, one on the other)
    r = await gw.get(`/api/v1/persons?id_number=${idn}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.total, 1);
    assert.equal((await gw.get('/api/v1/persons?phone=13855554321')).status, 200);
    assert.equal((await gwOnPeer.get('/api/v1/persons?phone_last4=4321')).body.total, 1);
    // the fourth, on either server, is refused and shows nothing
    r = await gwOnPeer.get('/api/v1/persons?name=' + encodeURIComponent('张三'));
    assert.equal(r.status, 429, r.text);
    assert.equal(errOf(r).code, 'search_rate_limited');
    assert.match(errOf(r).message, /[\u4e00-\u9fff]/);
    assert.equal(r.body.items, undefined);
    r = await gw.get(`/api/v1/persons?id_number=${idn}&format=csv`);
    assert.equal(r.status, 429, r.text);
    assert.ok(!r.text.includes(idn.slice(2, 17)));
    // another user has a counter of their own
    assert.equal((await gw2.get(`/api/v1/persons?id_number=${idn}`)).status, 200);
    // one alert, however many refusals, for the security administrator
    let items = [];
    for (let i = 0; i < 60 && items.length === 0; i++) {
      r = await sec.get('/api/v1/alerts?kind=security');
      assert.equal(r.status, 200, r.text);
      items = r.body.items;
      if (!items.length) await sleep(50);
    }
    assert.equal(items.length, 1, JSON.stringify(items));
    assert.equal(items[0].kind, 'security');
    assert.equal(items[0].kind_label, '安全事件');
    assert.match(items[0].message, /x_gw/);
    assert.ok(!JSON.stringify(items).includes(idn));
    // the security administrator may acknowledge it
    r = await sec.post(`/api/v1/alerts/${items[0].id}/ack`, { note: '已核实' });
    assert.equal(r.status, 200, r.text);
    // audited: the fields searched, never the values; refusals by their code
    const { items: aud } = (await (async () => {
      let out;
      for (let i = 0; i < 60; i++) {
        out = await auditorOf(lim, secSecret);
        if (out.items.filter((x) => x.action === 'person.list' && /field=/.test(x.detail)).length >= 6) break;
        await sleep(50);
      }
      return out;
    })());
    const lists = aud.filter((x) => x.action === 'person.list' && /field=/.test(x.detail));
    const fields = lists.map((x) => `${x.result} ${x.detail.replace(/^.*field=/, 'field=')}`).sort();
    assert.deepEqual(fields, [
      'ok field=id_number', 'ok field=id_number', 'ok field=phone', 'ok field=phone_last4',
      'search_rate_limited field=id_number', 'search_rate_limited field=name',
    ]);
    const text = JSON.stringify(aud);
    for (const secret of [idn, '13855554321', '张三']) assert.ok(!text.includes(secret), secret);
    // four digits also occur inside record ids by chance: look for them where a value would be written
    const details = aud.map((x) => x.detail || '').join('\n');
    assert.ok(!/(^|[^0-9])4321([^0-9]|$)/m.test(details), details);
  } finally {
    await peer.stop();
    await lim.stop();
  }
});

// The audit log of a server, read by an audit administrator added for it.
const auditors = new Map();
async function auditorOf(srv) {
  if (!auditors.has(srv)) {
    const out = srv.must(['user', 'add', '--username', 'x_aud', '--password', PW, '--role', 'audit_admin', '--region', '110000000000']);
    const c = srv.client();
    await c.login('x_aud', PW, totpSecretFrom(out));
    auditors.set(srv, c);
  }
  const r = await auditors.get(srv).get('/api/v1/audit?page_size=200&action=person.*');
  assert.equal(r.status, 200, r.text);
  return r.body;
}

test('search by the last four digits of a phone: within scope, four digits only, filled in for old rows', async () => {
  const mine = await create(gw1, { phone: '13600007391' });
  const west = await create(gw2, { region_code: WEST, phone: '13700007391' });
  await create(gw1, { phone: '13600007392' });
  const ids = async (c, q) => {
    const r = await c.get('/api/v1/persons?' + q);
    assert.equal(r.status, 200, r.text);
    return r.body.items.map((x) => x.id).sort();
  };
  assert.deepEqual(await ids(gw1, 'phone_last4=7391'), [mine.id]);
  assert.deepEqual(await ids(gw2, 'phone_last4=7391'), [west.id]);
  assert.deepEqual(await ids(cc, 'phone_last4=7391'), [mine.id, west.id].sort());
  assert.deepEqual(await ids(cc, `phone_last4=7391&region_code=${COMMUNITY}`), [mine.id]);
  // a changed phone moves the index with it
  assert.equal((await gw1.patch(`/api/v1/persons/${mine.id}`, { phone: '13600008888' })).status, 200);
  assert.deepEqual(await ids(gw1, 'phone_last4=7391'), []);
  assert.deepEqual(await ids(gw1, 'phone_last4=8888'), [mine.id]);
  for (const bad of ['739', '73911', '73a1', '７３９１', '%20739']) {
    const r = await gw1.get('/api/v1/persons?phone_last4=' + encodeURIComponent(bad));
    assert.equal(r.status, 400, bad);
    assert.equal(errOf(r).code, 'invalid_parameter');
    assert.equal(errOf(r).field, 'phone_last4');
  }
  // rows written before migration 012 have no index: the server fills it in at start-up
  const sql = 'UPDATE persons SET phone_last4_bidx = NULL';
  sqlRun(ctx, sql);
  await ctx.restart();
  for (const c of [cc, cc2, gw1, gw2, leader, auditor]) assert.ok(c); // sessions live in the database
  assert.deepEqual(await ids(gw1, 'phone_last4=8888'), [mine.id]);
  assert.deepEqual(await ids(cc, 'phone_last4=7391'), [west.id]);
});

test('verifying an identity: staff in scope, document seen, audited; bad requests change nothing', async () => {
  const p = await create(gw1);
  assert.equal(p.verified, true); // staff records are verified
  let r = await gw1.post(`/api/v1/persons/${p.id}/verify`, { document_checked: true });
  assert.equal(r.status, 409, r.text);
  assert.equal(errOf(r).code, 'already_verified');
  r = await gw1.post(`/api/v1/persons/${p.id}/verify`, { document_checked: false });
  assert.equal(r.status, 400, r.text);
  assert.equal(errOf(r).code, 'document_not_checked');
  assert.equal(errOf(r).field, 'document_checked');
  r = await gw1.post(`/api/v1/persons/${p.id}/verify`, {});
  assert.equal(r.status, 400, r.text);
  assert.equal(errOf(r).field, 'document_checked');
  r = await gw1.post(`/api/v1/persons/${p.id}/verify`, { document_checked: 'yes' });
  assert.equal(r.status, 400, r.text);
  assert.equal((await gw2.post(`/api/v1/persons/${p.id}/verify`, { document_checked: true })).status, 404);
  assert.equal((await leader.post(`/api/v1/persons/${p.id}/verify`, { document_checked: true })).status, 403);
  assert.equal((await revealed(p.id)).version, p.version);
});
