// Transmission chains and clusters through the API (issue 11,
// docs/tracing.md "Transmission chains"): case → source links (no self-link,
// no cycle however long, no duplicate, cases only, scope), clusters with
// their members, the graphs (masked names, statuses, onsets, links between
// the nodes only), audit, permissions, and bad input changing nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { residentId, expectError, auditEntries, startCityWith, sqlRun } from './lib.mjs';

const PW = 'Passw0rd!cluster';
const COMMUNITY = '110101001001'; // 多福巷社区
const OTHER_STREET = '110101002001'; // 隆福寺社区
let ctx, cc, cs, grid, gridOther, checkpoint, auditor;

let seq = 0;
const rid = () => residentId('110101', '19820707', 700 + ++seq * 2);

async function ok(p, status = 200) {
  const r = await p;
  assert.equal(r.status, status, r.text);
  return r.body;
}

async function kase(name = '吴病例', over = {}) {
  return (await ok(cc.post('/api/v1/persons', { name, id_number: rid(), region_code: COMMUNITY, status: 'confirmed', ...over }), 201)).id;
}
const link = (person_id, source_id, kind = 'certain', who = cc) => who.post('/api/v1/case-links', { person_id, source_id, kind });
const count = (t) => Number(sqlRun(ctx, `SELECT COUNT(*) FROM ${t}`).trim());

before(async () => {
  ctx = await startCityWith(
    {
      k_cc: ['command_center', '110101000000'],
      k_cs: ['community_staff', COMMUNITY],
      k_grid: ['grid_worker', COMMUNITY],
      k_grid_other: ['grid_worker', OTHER_STREET],
      k_gate: ['checkpoint_staff', '110101000000'],
      k_auditor: ['audit_admin', '110000000000'],
    },
    PW,
  );
  ({ k_cc: cc, k_cs: cs, k_grid: grid, k_grid_other: gridOther, k_gate: checkpoint, k_auditor: auditor } = ctx.as);
});
after(async () => ctx?.stop());

test('links: a chain, no self-link, no cycle at any depth, no duplicate, cases in scope only', async () => {
  const a = await kase('甲源头'), b = await kase('乙二代'), c = await kase('丙三代'), d = await kase('丁四代');
  const ab = await ok(link(b, a), 201);
  assert.equal(ab.kind_label, '明确');
  assert.equal(ab.person_name, '乙*代');
  assert.equal(ab.source_name, '甲*头');
  await ok(link(c, b, 'possible'), 201);
  await ok(link(d, c), 201);
  const before_ = count('case_links');
  expectError(await link(a, a), 400, 'link_cycle', 'source_id');
  expectError(await link(a, b), 400, 'link_cycle', 'source_id');
  expectError(await link(a, d), 400, 'link_cycle', 'source_id'); // d → c → b → a
  expectError(await link(b, a), 409, 'duplicate_link', 'source_id');
  const normal = await kase('戊正常', { status: 'normal' });
  expectError(await link(normal, a), 400, 'not_a_case', 'person_id');
  expectError(await link(a, normal), 400, 'not_a_case', 'source_id');
  const far = (await ok(cc.post('/api/v1/persons', { name: '己外街', id_number: rid(), region_code: OTHER_STREET, status: 'confirmed' }), 201)).id;
  expectError(await link(b, far, 'certain', grid), 404, 'not_found', 'source_id');
  expectError(await cc.post('/api/v1/case-links', { person_id: b, source_id: a, kind: 'maybe' }), 400, 'invalid_value', 'kind');
  expectError(await link(d, a, 'certain', checkpoint), 403, 'forbidden');
  assert.equal(count('case_links'), before_, 'nothing written');
  // a second source is fine (not a cycle)
  const e2 = await ok(link(d, a, 'possible'), 201);

  // the list of one case, its audit, the delete
  const mine = await ok(cc.get(`/api/v1/case-links?person_id=${d}`));
  assert.equal(mine.total, 2);
  assert.ok((await auditEntries(auditor, 'trace.link.create', ab.id)).length === 1);
  expectError(await gridOther.del(`/api/v1/case-links/${e2.id}`), 404, 'not_found');
  await ok(cc.del(`/api/v1/case-links/${e2.id}`), 204);
  assert.equal((await ok(cc.get(`/api/v1/case-links?person_id=${d}`))).total, 1);

  // the region graph: nodes masked with statuses, links source → target
  const g = await ok(cc.get(`/api/v1/case-links/graph?region=${COMMUNITY}`));
  for (const id of [a, b, c, d]) assert.ok(g.nodes.some((n) => n.id === id), id);
  const nb = g.nodes.find((n) => n.id === b);
  assert.equal(nb.name, '乙*代');
  assert.equal(nb.status_label, '确诊');
  assert.ok(g.links.some((l) => l.source === a && l.target === b && l.kind === 'certain'));
  assert.ok(g.links.some((l) => l.source === b && l.target === c && l.kind === 'possible'));
  // the other street sees none of it
  const go = await ok(gridOther.get('/api/v1/case-links/graph'));
  assert.ok(!go.nodes.some((n) => [a, b, c, d].includes(n.id)));
  expectError(await grid.get(`/api/v1/case-links/graph?region=${OTHER_STREET}`), 400, 'invalid_region', 'region');
});

test('clusters: create, members, graph, change, close, delete; scope and bad input', async () => {
  const a = await kase('张一'), b = await kase('张二'), c = await kase('张三');
  await ok(link(b, a), 201);
  await ok(link(c, b), 201);
  const k = await ok(cc.post('/api/v1/clusters', { name: '多福巷超市聚集性疫情', region_code: COMMUNITY, first_case_on: '2026-11-15', note: '超市员工' }), 201);
  assert.equal(k.status, 'open');
  assert.equal(k.status_label, '处置中');
  assert.equal(k.region_name, '多福巷社区');
  assert.equal(k.member_count, 0);
  await ok(cc.post(`/api/v1/clusters/${k.id}/members`, { person_id: a }), 201);
  const two = await ok(cc.post(`/api/v1/clusters/${k.id}/members`, { person_id: b }), 201);
  assert.equal(two.member_count, 2);
  expectError(await cc.post(`/api/v1/clusters/${k.id}/members`, { person_id: b }), 409, 'already_member', 'person_id');
  const normal = await kase('张四', { status: 'normal' });
  expectError(await cc.post(`/api/v1/clusters/${k.id}/members`, { person_id: normal }), 400, 'not_a_case', 'person_id');

  // the graph: the two members and the link between them, not c's link (c is no member)
  const g = await ok(cc.get(`/api/v1/clusters/${k.id}/graph`));
  assert.deepEqual(g.nodes.map((n) => n.id).sort(), [a, b].sort());
  assert.deepEqual(g.links.map((l) => [l.source, l.target]), [[a, b]]);
  assert.equal(g.nodes.find((n) => n.id === a).name, '张*');
  assert.ok((await auditEntries(auditor, 'trace.cluster.graph', k.id)).length >= 1);
  // a member who moved to another street leaves the community's graph (not the district's)
  const mover = await kase('张迁');
  await ok(cc.post(`/api/v1/clusters/${k.id}/members`, { person_id: mover }), 201);
  await ok(cc.patch(`/api/v1/persons/${mover}`, { region_code: OTHER_STREET }));
  assert.ok(!(await ok(grid.get(`/api/v1/clusters/${k.id}/graph`))).nodes.some((n) => n.id === mover));
  assert.ok((await ok(cc.get(`/api/v1/clusters/${k.id}/graph`))).nodes.some((n) => n.id === mover));
  await ok(cc.del(`/api/v1/clusters/${k.id}/members/${mover}`), 204);

  // the list, filters, the person's clusters
  const ids = async (q, who = cc) => (await ok(who.get(`/api/v1/clusters?${q}`))).items.map((x) => x.id);
  assert.ok((await ids('status=open')).includes(k.id));
  assert.deepEqual(await ids(`person_id=${a}`), [k.id]);
  assert.deepEqual(await ids(`person_id=${c}`), []);
  const csv = await cc.get(`/api/v1/clusters?person_id=${a}&format=csv`);
  assert.equal(csv.status, 200);
  assert.match(csv.text, /多福巷超市聚集性疫情,多福巷社区,2026-11-15,处置中,2/);
  assert.ok(!(await ids('', gridOther)).includes(k.id), 'the other street does not see it');
  expectError(await gridOther.get(`/api/v1/clusters/${k.id}`), 404, 'not_found');
  expectError(await gridOther.get(`/api/v1/clusters/${k.id}/graph`), 404, 'not_found');
  expectError(await gridOther.post(`/api/v1/clusters/${k.id}/members`, { person_id: c }), 404, 'not_found');

  // bad input writes nothing
  const n0 = count('clusters');
  expectError(await cc.post('/api/v1/clusters', { name: '', region_code: COMMUNITY }), 400, 'required', 'name');
  expectError(await cc.post('/api/v1/clusters', { name: '甲', region_code: COMMUNITY, first_case_on: '2099-01-01' }), 400, 'invalid_range', 'first_case_on');
  expectError(await grid.post('/api/v1/clusters', { name: '乙', region_code: OTHER_STREET }), 400, 'invalid_region', 'region_code');
  expectError(await cc.post('/api/v1/clusters', { name: '丙', region_code: COMMUNITY, status: 'done' }), 400, 'invalid_value', 'status');
  expectError(await checkpoint.post('/api/v1/clusters', { name: '丁', region_code: COMMUNITY }), 403, 'forbidden');
  assert.equal(count('clusters'), n0);

  // change and close; the version is checked
  const latest = await ok(cc.get(`/api/v1/clusters/${k.id}`)); // members changed the version
  assert.ok(latest.version > two.version);
  const closed = await ok(cc.patch(`/api/v1/clusters/${k.id}`, { version: latest.version, status: 'closed' }));
  assert.equal(closed.status_label, '已结束');
  expectError(await cc.patch(`/api/v1/clusters/${k.id}`, { version: two.version, note: 'x' }), 409, 'version_conflict');
  // remove a member, then delete the cluster
  await ok(cc.del(`/api/v1/clusters/${k.id}/members/${b}`), 204);
  expectError(await cc.del(`/api/v1/clusters/${k.id}/members/${b}`), 404, 'not_found');
  assert.equal((await ok(cc.get(`/api/v1/clusters/${k.id}`))).member_count, 1);
  await ok(cc.del(`/api/v1/clusters/${k.id}`), 204);
  expectError(await cc.get(`/api/v1/clusters/${k.id}`), 404, 'not_found');
  assert.equal(Number(sqlRun(ctx, `SELECT COUNT(*) FROM cluster_members WHERE cluster_id = ${k.id}`).trim()), 0);
  for (const act of ['trace.cluster.create', 'trace.cluster.member_add', 'trace.cluster.update', 'trace.cluster.delete'])
    assert.ok((await auditEntries(auditor, act, k.id)).length >= 1, act);
  // the community's staff read clusters (trace.read) but do not write them
  assert.ok(Array.isArray((await ok(cs.get('/api/v1/clusters'))).items));
  expectError(await cs.post('/api/v1/clusters', { name: '戊', region_code: COMMUNITY }), 403, 'forbidden');
});

test('a region\'s move carries its investigations, links and clusters with it', async () => {
  const OLD = '110101002008', NEW = '110101001008';
  await ok(cc.post('/api/v1/regions', { code: OLD, name: '迁移社区', level: 'community', parent_code: '110101002000' }), 201);
  const mover = (await ok(cc.post('/api/v1/persons', { name: '秦迁移', id_number: rid(), region_code: OLD, status: 'confirmed' }), 201)).id;
  const source = await kase('尤源头');
  const inv = await ok(cc.post('/api/v1/investigations', { person_id: mover, investigated_at: Date.UTC(2026, 10, 20), onset_on: '2026-11-19' }), 201);
  const l = await ok(link(mover, source), 201);
  const k = await ok(cc.post('/api/v1/clusters', { name: '迁移社区聚集', region_code: OLD }), 201);
  await ok(cc.post(`/api/v1/clusters/${k.id}/members`, { person_id: mover }), 201);
  await ok(cc.post(`/api/v1/regions/${OLD}/move`, { code: NEW }));
  assert.equal((await ok(cc.get(`/api/v1/investigations/${inv.id}`))).region_code, NEW);
  assert.equal((await ok(cc.get(`/api/v1/clusters/${k.id}`))).region_code, NEW);
  assert.deepEqual((await ok(cc.get(`/api/v1/clusters?region_code=${NEW}`))).items.map((x) => x.id), [k.id]);
  const g = await ok(cc.get(`/api/v1/case-links/graph?region=${NEW}`));
  assert.deepEqual(g.links.map((x) => x.id), [l.id], 'the link moved with its case');
  assert.equal((await ok(cc.get(`/api/v1/case-links/graph?region=110101002000`))).links.some((x) => x.id === l.id), false);
});
