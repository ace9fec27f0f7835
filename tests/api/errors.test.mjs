// The error codes clients receive are one documented set: the OpenAPI
// document's Error schema lists exactly the codes of docs/errors.md, real
// error replies (404, 400 with a field, 409 stale edit, 429) carry codes of
// that list, and the lint refuses a slug raised in src/ without an entry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startServer, CITY_CSV, writeTmp, residentId, errOf } from './lib.mjs';

const PW = 'Errors-test-2024!';
const COMMUNITY = '110101001001';
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
let ctx, grid, doc;

// The codes of the table in docs/errors.md.
function documentedCodes() {
  const md = fs.readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
  return [...md.matchAll(/^\| `([a-z0-9_]+)` \|/gm)].map((m) => m[1]).sort();
}

before(async () => {
  ctx = await startServer({
    setup: (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      c.must(['user', 'add', '--username', 'grid', '--password', PW, '--role', 'grid_worker', '--region', COMMUNITY]);
    },
  });
  grid = ctx.client();
  await grid.login('grid', PW);
  doc = await (await fetch(ctx.url + '/api/v1/openapi.json')).json();
});
after(async () => {
  await ctx?.stop();
});

function errorEnum() {
  return doc.components.schemas.Error.properties.error.properties.code.enum;
}

test('the OpenAPI Error code enum is the table of docs/errors.md, each with a meaning', () => {
  const codes = documentedCodes();
  assert.ok(codes.length > 100, `docs/errors.md lists ${codes.length} codes`);
  assert.deepEqual([...errorEnum()].sort(), codes);
  const code = doc.components.schemas.Error.properties.error.properties.code;
  assert.deepEqual(Object.keys(code['x-enum-descriptions']).sort(), codes);
  for (const [k, v] of Object.entries(code['x-enum-descriptions'])) assert.ok(v.length > 5, k);
  // one name per condition: the stale edit is version_conflict only
  assert.ok(codes.includes('version_conflict'));
  assert.ok(!codes.includes('edit_conflict'));
});

test('every 4xx response of every operation references the Error schema', () => {
  let n = 0;
  for (const [p, item] of Object.entries(doc.paths))
    for (const [m, op] of Object.entries(item))
      for (const [status, resp] of Object.entries(op.responses)) {
        if (!status.startsWith('4')) continue;
        n++;
        assert.equal(resp.content['application/json'].schema.$ref, '#/components/schemas/Error', `${m} ${p} ${status}`);
      }
  assert.ok(n > 100);
});

test('real error replies carry codes of the documented enum', async () => {
  const known = new Set(errorEnum());
  const check = (r, status, code, field) => {
    assert.equal(r.status, status, r.text);
    const e = errOf(r);
    assert.equal(e.code, code);
    if (field) assert.equal(e.field, field);
    assert.ok(known.has(e.code), `${e.code} is in the enum`);
    for (const f of e.fields ?? []) assert.ok(known.has(f.code), `${f.code} (field ${f.field}) is in the enum`);
  };
  // 404: a record that does not exist, and a path no route has
  check(await grid.get('/api/v1/persons/987654321'), 404, 'not_found');
  check(await grid.get('/api/v1/no-such-thing'), 404, 'no_such_path');
  // 400 with a field, in the body and in the query
  check(await grid.post('/api/v1/persons', { name: '张三', id_number: '123', region_code: COMMUNITY }), 400, 'invalid_id_number', 'id_number');
  check(await grid.get('/api/v1/persons?page_size=abc'), 400, 'invalid_parameter', 'page_size');
  // 409: an edit against a version that is no longer current
  const p = await grid.post('/api/v1/persons', { name: '李四', id_number: residentId('110101', '19850101', 7), region_code: COMMUNITY });
  assert.equal(p.status, 201, p.text);
  assert.equal((await grid.patch(`/api/v1/persons/${p.body.id}`, { phone: '13500001111', version: 1 })).status, 200);
  check(await grid.patch(`/api/v1/persons/${p.body.id}`, { phone: '13500002222', version: 1 }), 409, 'version_conflict');
  // 429: a second SMS code for one phone within a minute
  const anon = ctx.client();
  assert.equal((await anon.post('/api/v1/auth/sms/send', { phone: '13900139001' })).status, 200);
  check(await anon.post('/api/v1/auth/sms/send', { phone: '13900139001' }), 429, 'rate_limited');
});

// A copy of what the check reads (scripts/, src/, docs/errors.md), so the
// test can add a slug without touching the worktree.
function copyTree() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-errors-'));
  for (const d of ['scripts', 'src', 'docs']) fs.cpSync(path.join(ROOT, d), path.join(dir, d), { recursive: true });
  return dir;
}
const check = (dir) => spawnSync('sh', [path.join(dir, 'scripts/error-codes.sh'), '--check'], { encoding: 'utf8' });

test('the error-code check fails on a slug raised without a table entry, and on a stale entry', () => {
  const dir = copyTree();
  try {
    let r = check(dir);
    assert.equal(r.status, 0, r.stderr);
    // a new slug, raised directly, through a wrapper and through a macro
    const cases = [
      'err x(void) { return err_set(E_CONFLICT, "brand_new_slug", NULL, "新的错误"); }',
      'static err nope(const char *slug, const char *msg)\n{\n    return err_set(E_INPUT, slug, "f", "%s", msg);\n}\nerr y(void) { return nope("wrapped_new_slug", "x"); }',
      '#define SLUG_NEW "macro_new_slug"\nerr z(void) { return err_add(E_OK, E_INPUT, SLUG_NEW, "f", "x"); }',
    ];
    for (const [i, src] of cases.entries()) {
      const f = path.join(dir, 'src/base/zz_new.c');
      fs.writeFileSync(f, src + '\n');
      r = check(dir);
      const slug = src.match(/"([a-z]+_new_slug)"/)[1];
      assert.notEqual(r.status, 0, `case ${i}: the check passes with ${slug}`);
      assert.match(r.stderr, new RegExp(slug));
      fs.rmSync(f);
    }
    // a server-side failure's slug is never sent: no entry needed
    fs.writeFileSync(path.join(dir, 'src/base/zz_new.c'), 'err w(void) { return err_set(E_IO, "hidden_io_slug", NULL, NULL); }\n');
    assert.equal(check(dir).status, 0);
    fs.rmSync(path.join(dir, 'src/base/zz_new.c'));
    // an entry nothing raises any more
    const table = path.join(dir, 'src/http/errors.c');
    fs.writeFileSync(table, fs.readFileSync(table, 'utf8').replace('    {NULL, NULL},', '    {"stale_slug", "gone"},\n    {NULL, NULL},'));
    r = check(dir);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /stale_slug/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the check fails when docs/errors.md is stale', () => {
  const dir = copyTree();
  try {
    const md = path.join(dir, 'docs/errors.md');
    fs.writeFileSync(md, fs.readFileSync(md, 'utf8').replace(/^\| `version_conflict` .*\n/m, ''));
    const r = check(dir);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /docs\/errors\.md is stale/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
