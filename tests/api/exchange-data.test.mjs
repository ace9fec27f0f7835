// The exchange's datasets (issue 13 "Interfaces", docs/exchange.md
// "Datasets and cursors", src/exchange/datasets.c): batch writes answered
// per record (a record outside the caller's regions refused alone), a
// dataset not granted, the change cursors paged while staff write through
// the people API (every change once, in order, none missed), and a caller
// never reading outside its granted regions.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startCityWith, expectError, sqlRun, residentId } from './lib.mjs';
import { ExchangeClient } from '../../clients/exchange-client.mjs';

const PW = 'Exchange-2024!pw';
const S1 = '110101001000'; // 东华门街道
const S1_C1 = '110101001001'; // 多福巷社区
const XC = '110102001001'; // 西城区's community
let ctx, staff;
let seq = 100;
const one = (sql) => sqlRun(ctx, sql).trim();
const nextId = (prefix = '110101') => residentId(prefix, '19900101', (seq += 2));

// A caller registered through the CLI, with its client.
function caller(name, { region = S1, read = '', write = '' } = {}) {
  const keyFile = path.join(ctx.dir, `${name}.pem`);
  const id = ctx.must(['exchange', 'caller', 'add', '--name', name, '--org', '测试单位', '--region', region, '--read', read, '--write', write, '--key-out', keyFile]).trim();
  return new ExchangeClient({ base: ctx.url, caller: id, privateKeyPem: fs.readFileSync(keyFile, 'utf8') });
}

const person = (name, region, idn = nextId()) => ({ name, id_number: idn, region_code: region, phone: '13800138000', address: '多福巷1号' });

// Every page of a cursor from `since`: the items, and the last next.
async function pageAll(c, dataset, { since = 0, limit = 50, region } = {}) {
  const items = [];
  for (let guard = 0; guard < 10000; guard++) {
    const query = `since=${since}&limit=${limit}` + (region ? `&region=${region}` : '');
    const r = await c.get(`/exchange/v1/${dataset}/changes`, { query });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.verified);
    items.push(...r.body.items);
    since = r.body.next;
    if (!r.body.more) return { items, next: since };
  }
  throw new Error('cursor never ended');
}

before(async () => {
  ctx = await startCityWith({ center: ['command_center', '110000000000'] }, PW);
  staff = ctx.as.center;
});

after(async () => {
  await ctx?.stop();
});

test('a batch of persons is answered per record; a record outside the grant is refused alone', async () => {
  const c = caller('人员报送系统', { write: 'persons', read: 'persons' });
  const dup = nextId();
  const r = await c.post('/exchange/v1/persons', {
    records: [
      person('王五', S1_C1),
      person('赵六', XC), // outside 东华门街道
      { ...person('钱七', S1_C1), id_number: '110101199001011238' }, // bad check digit
      7,
      person('孙八', S1_C1, dup),
      { ...person('孙八', S1_C1, dup), address: '多福巷9号' }, // the same document: a change
    ],
  }, { idempotencyKey: 'persons-1' });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.verified);
  assert.equal(r.body.accepted, 3);
  assert.equal(r.body.rejected, 3);
  const res = r.body.results;
  assert.deepEqual(res.map((x) => x.index), [0, 1, 2, 3, 4, 5]);
  assert.ok(res[0].ok && /^\d+$/.test(res[0].id));
  assert.deepEqual([res[1].ok, res[1].error.code, res[1].error.field], [false, 'region_not_granted', 'region_code']);
  assert.match(res[1].error.message, /[\u4e00-\u9fff]/);
  assert.deepEqual([res[2].error.code, res[2].error.field], ['invalid_id_number', 'id_number']);
  assert.equal(res[3].error.code, 'invalid_record');
  assert.equal(res[5].id, res[4].id);
  // nothing of the refused records was written
  assert.equal(one(`SELECT COUNT(*) FROM persons WHERE region_code >= 110102000000000000 AND region_code < 110103000000000000`), '0');
  // the stored record as staff see it
  const p = await staff.get(`/api/v1/persons/${res[5].id}?reveal=1`);
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.address, '多福巷9号');
  assert.equal(p.body.source, 'exchange');
  // the same key replays the first answer, writing nothing
  const again = await c.post('/exchange/v1/persons', { records: [person('王五', S1_C1)] }, { idempotencyKey: 'persons-1' });
  assert.ok(again.status === 200 || again.status === 409, again.text);
  // the batch's size
  let big = await c.post('/exchange/v1/persons', { records: Array.from({ length: 1001 }, () => ({})) }, { idempotencyKey: 'persons-big' });
  expectError(big, 413, 'batch_too_large', 'records');
  big = await c.post('/exchange/v1/persons', { records: [] }, { idempotencyKey: 'persons-empty' });
  expectError(big, 400, 'invalid_batch', 'records');
  big = await c.post('/exchange/v1/persons', { records: 'x' }, { idempotencyKey: 'persons-str' });
  expectError(big, 400, 'invalid_batch', 'records');
});

test('a dataset not granted is refused, reading or writing', async () => {
  const c = caller('只读人员系统', { read: 'persons' });
  let r = await c.post('/exchange/v1/persons', { records: [person('周九', S1_C1)] }, { idempotencyKey: 'ng-1' });
  expectError(r, 403, 'dataset_not_granted');
  r = await c.get('/exchange/v1/returns/changes', { query: 'since=0' });
  expectError(r, 403, 'dataset_not_granted');
  r = await c.get('/exchange/v1/persons/changes', { query: 'since=-1' });
  expectError(r, 400, 'invalid_parameter', 'since');
  r = await c.get('/exchange/v1/persons/changes', { query: 'limit=1001' });
  expectError(r, 400, 'invalid_parameter', 'limit');
  r = await c.get('/exchange/v1/persons/changes', { query: `region=${XC}` });
  expectError(r, 403, 'region_not_granted', 'region');
});

test('cursors under concurrent staff writes: every change once, in order, never outside the grant', async () => {
  const reader = caller('人员订阅系统', { read: 'persons' });
  const start = (await pageAll(reader, 'persons')).next;
  const before = Number(one(`SELECT COALESCE(MAX(seq), 0) FROM exchange_changes WHERE dataset = 'persons'`));
  assert.ok(start <= before);
  // staff write in both districts while the caller pages with small pages
  const N = 40;
  const writes = (async () => {
    for (let i = 0; i < N; i++) {
      const region = i % 2 ? S1_C1 : XC;
      const r = await staff.post('/api/v1/persons', person(`并发${i}`, region));
      assert.equal(r.status, 201, r.text);
      if (i % 4 === 1) {
        const u = await staff.req('PATCH', `/api/v1/persons/${r.body.id}`, { address: `改${i}` });
        assert.equal(u.status, 200, u.text);
      }
    }
  })();
  const seen = [];
  let since = start;
  let done = false;
  writes.then(() => { done = true; });
  for (let guard = 0; guard < 100000; guard++) {
    const r = await reader.get('/exchange/v1/persons/changes', { query: `since=${since}&limit=3` });
    assert.equal(r.status, 200, r.text);
    for (const it of r.body.items) seen.push(it);
    since = r.body.next;
    if (!r.body.more && done) {
      // one more page after the writer finished: nothing left behind
      const last = await reader.get('/exchange/v1/persons/changes', { query: `since=${since}&limit=3` });
      for (const it of last.body.items) seen.push(it);
      if (!last.body.more) break;
      since = last.body.next;
    }
  }
  await writes;
  const seqs = seen.map((x) => x.seq);
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `in order, no duplicate: ${seqs[i - 1]} then ${seqs[i]}`);
  // exactly the changes of 东华门街道 after the start
  const want = sqlRun(ctx, `SELECT seq FROM exchange_changes WHERE dataset = 'persons' AND seq > ${start} AND region_code >= 110101001000000000 AND region_code < 110101002000000000 ORDER BY seq`).trim().split('\n').filter(Boolean).map(Number);
  assert.deepEqual(seqs, want);
  assert.equal(seqs.length, N / 2 + N / 4);
  // never outside the grant, and the records in full
  for (const it of seen) {
    assert.ok(it.region.startsWith('110101001'), it.region);
    assert.ok(it.record.deleted || it.record.name.startsWith('并发'), JSON.stringify(it.record));
    assert.equal(it.record.masked, false);
  }
  // the 西城区 changes exist: the filter, not their absence, kept them out
  assert.ok(Number(one(`SELECT COUNT(*) FROM exchange_changes WHERE dataset = 'persons' AND seq > ${start} AND region_code >= 110102000000000000 AND region_code < 110103000000000000`)) >= N / 2);
});

test('a deleted person comes as deleted; returns and results batches log their changes', async () => {
  const c = caller('综合报送系统', { read: 'persons,returns,results', write: 'returns,results' });
  const r0 = await staff.post('/api/v1/persons', person('吴十', S1_C1));
  assert.equal(r0.status, 201, r0.text);
  const pid = r0.body.id;
  const { next } = await pageAll(c, 'persons');
  const del = await staff.req('DELETE', `/api/v1/persons/${pid}`);
  assert.equal(del.status, 204, del.text);
  const after = await pageAll(c, 'persons', { since: next });
  assert.equal(after.items.length, 1);
  assert.deepEqual([after.items[0].op, after.items[0].id, after.items[0].record.deleted], ['delete', pid, true]);

  const p2 = (await staff.post('/api/v1/persons', person('郑十一', S1_C1))).body.id;
  let r = await c.post('/exchange/v1/returns', {
    records: [
      { person_id: p2, departed_on: '2026-11-01', returned_on: '2026-11-05', destination: '上海', out: { mode: 'train', number: 'G2' } },
      { person_id: p2, departed_on: '2026-11-09', returned_on: '2026-11-01', destination: '上海', out: { mode: 'train' } },
    ],
  }, { idempotencyKey: 'returns-1' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual([r.body.accepted, r.body.rejected, r.body.results[1].error.code], [1, 1, 'invalid_range']);
  const ret = await pageAll(c, 'returns');
  assert.equal(ret.items.length, 1);
  assert.equal(ret.items[0].record.destination, '上海');
  r = await c.post('/exchange/v1/results', {
    records: [{ person_id: p2, result: 'negative', sampled_at: Date.now() - 3600000, reported_at: Date.now() - 60000 }],
  }, { idempotencyKey: 'results-1' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.accepted, 1, r.text);
  const res = await pageAll(c, 'results');
  assert.equal(res.items.length, 1);
  assert.equal(res.items[0].record.result, 'negative');
  assert.equal(res.items[0].record.person_id, p2);
});
