// Attachments (issue 9; docs/attachments.md): a photo, a voice note and a
// video uploaded as raw bodies and read back byte for byte; claims that
// disagree with the content, scriptable files, empty and oversized bodies
// refused with their codes and nothing stored; who may upload; who may read
// (the uploader, then staff of the region once a record claimed it; never
// another resident); the audit entries; the hourly upload limits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CITY_STAFF, auditEntries, expectError, smsCode, sqlRun, startCityWith, until } from './lib.mjs';

const PW = 'Passw0rd!attach';
let ctx;
const servers = [];

before(async () => {
  ctx = await startCityWith({ ...CITY_STAFF, ent_dc: ['enterprise', '110101001001'] }, PW);
  servers.push(ctx);
});

after(async () => {
  for (const s of servers) await s.stop();
  if (process.env.FK_KEEP) return;
  for (const s of servers) fs.rmSync(s.dir, { recursive: true, force: true });
});

let phoneSeq = 0;
async function resident(server = ctx) {
  const phone = '1362000' + String(1000 + ++phoneSeq).padStart(4, '0');
  const c = server.client();
  let r = await c.post('/api/v1/auth/sms/send', { phone });
  assert.equal(r.status, 200, r.text);
  r = await c.post('/api/v1/auth/sms/login', { phone, code: smsCode(server, phone) });
  assert.equal(r.status, 200, r.text);
  return c;
}

// Files: the first bytes of their format, then filler, and a marker.
function file(head, size, marker = 'attach-test') {
  const b = Buffer.alloc(size, 0x5a);
  Buffer.from(head).copy(b, 0);
  if (size > head.length + marker.length + 8) b.write(marker, head.length + 4, 'latin1');
  return b;
}
const JPEG = [0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1];
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
const AMR = [...Buffer.from('#!AMR\n')];
const M4A = [0, 0, 0, 0x20, ...Buffer.from('ftypM4A '), 0, 0, 0, 0];
const MP4 = [0, 0, 0, 0x20, ...Buffer.from('ftypisom'), 0, 0, 2, 0];
const WEBM = [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84, ...Buffer.from('webm')];

const upload = (c, body, type) => c.post('/api/v1/attachments', body, type === null ? {} : { 'content-type': type });
const rows = (server = ctx) => Number(sqlRun(server, 'SELECT COUNT(*) FROM attachments').trim());

async function readBack(c, id) {
  const r = await fetch(`${ctx.url}/api/v1/attachments/${id}`, { headers: c.cookie ? { cookie: c.cookie } : {} });
  return { status: r.status, headers: r.headers, buf: Buffer.from(await r.arrayBuffer()) };
}

test('each class is uploaded and read back byte for byte, inline, never cached or sniffed', async () => {
  const me = await resident();
  const grid = ctx.as.grid_dc;
  const cases = [
    [me, file(JPEG, 300 * 1024), 'image/jpeg', 'image/jpeg', 'image'],
    [me, file(PNG, 2048), 'image/png', 'image/png', 'image'],
    [me, file(AMR, 5000), 'audio/amr', 'audio/amr', 'audio'],
    [me, file(M4A, 7000), 'audio/x-m4a', 'audio/mp4', 'audio'], // what iOS claims
    [grid, file(MP4, 2 << 20), 'video/mp4', 'video/mp4', 'video'],
    [grid, file(WEBM, 4096), 'video/webm; codecs="vp8"', 'video/webm', 'video'],
  ];
  for (const [c, body, claim, mime, cls] of cases) {
    const r = await upload(c, body, claim);
    assert.equal(r.status, 201, r.text);
    assert.match(r.body.id, /^\d+$/);
    assert.deepEqual({ ...r.body, id: undefined }, { id: undefined, mime, class: cls, size: body.length });
    const g = await readBack(c, r.body.id);
    assert.equal(g.status, 200);
    assert.ok(g.buf.equals(body), `${mime}: the same bytes`);
    assert.equal(g.headers.get('content-type'), mime);
    assert.equal(g.headers.get('content-disposition'), 'inline');
    assert.equal(g.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(g.headers.get('cache-control'), 'private, no-store');
    const m = await c.get(`/api/v1/attachments/${r.body.id}/meta`);
    assert.equal(m.status, 200, m.text);
    assert.equal(m.body.size, body.length);
    assert.equal(m.body.claimed, false);
    assert.equal(m.body.mine, true);
    assert.match(m.body.sm3, /^[0-9a-f]{64}$/);
  }
});

test('a claim that disagrees with the content, a scriptable or unknown file, an empty body: 400 and nothing stored', async () => {
  const me = await resident();
  const before = rows();
  expectError(await upload(me, file(PNG, 1000), 'image/jpeg'), 400, 'type_mismatch', 'file');
  expectError(await upload(me, file(JPEG, 1000), 'image/png'), 400, 'type_mismatch', 'file');
  expectError(await upload(me, file(M4A, 1000), 'video/mp4'), 400, 'type_mismatch', 'file');
  expectError(await upload(me, file(JPEG, 1000), 'application/octet-stream'), 400, 'type_mismatch', 'file');
  const html = Buffer.from('<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>');
  expectError(await upload(me, html, 'image/png'), 400, 'unsupported_type', 'file');
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>');
  expectError(await upload(me, svg, 'image/svg+xml'), 400, 'unsupported_type', 'file');
  expectError(await upload(me, Buffer.from('GIF89a\x01\x00\x01\x00'), 'image/gif'), 400, 'unsupported_type', 'file');
  expectError(await upload(me, Buffer.alloc(0), 'image/jpeg'), 400, 'empty', 'file');
  expectError(await upload(me, Buffer.from([0xff, 0xd8]), 'image/jpeg'), 400, 'unsupported_type', 'file'); // truncated
  // a type a form can send, or none: not an upload at all
  expectError(await upload(me, file(JPEG, 1000), 'text/plain'), 415, 'unsupported_media_type');
  expectError(await upload(me, file(JPEG, 1000), 'multipart/form-data; boundary=x'), 415, 'unsupported_media_type');
  assert.equal(rows(), before, 'nothing stored');
});

test('over the class limit 413 too_large; over the route limit 413 body_too_large; at the limit 201', async () => {
  const me = await resident();
  const before = rows();
  const r = await upload(me, file(JPEG, 8 << 20), 'image/jpeg');
  assert.equal(r.status, 201, r.text);
  expectError(await upload(me, file(JPEG, (8 << 20) + 1), 'image/jpeg'), 413, 'too_large', 'file');
  expectError(await upload(me, file(AMR, (10 << 20) + 1), 'audio/amr'), 413, 'too_large', 'file');
  const big = await upload(me, file(MP4, (50 << 20) + 1), 'video/mp4');
  assert.equal(big.status, 413, big.text);
  assert.equal(rows(), before + 1, 'only the upload at the limit is stored');
});

test('signed out 401; a role that may not report 403', async () => {
  const anon = ctx.client();
  expectError(await upload(anon, file(JPEG, 100), 'image/jpeg'), 401, 'unauthenticated');
  const me = await resident();
  const r = await upload(me, file(JPEG, 100), 'image/jpeg');
  assert.equal(r.status, 201, r.text);
  assert.equal((await readBack(anon, r.body.id)).status, 401);
  // the audit administrator files no reports; an enterprise account holds
  // `self` but is no resident
  expectError(await upload(ctx.as.auditor, file(JPEG, 100), 'image/jpeg'), 403, 'forbidden');
  expectError(await upload(ctx.as.ent_dc, file(JPEG, 100), 'image/jpeg'), 403, 'forbidden');
});

test('unclaimed: its uploader alone; claimed: staff of its region too, never another district or resident', async () => {
  const me = await resident();
  const neighbour = await resident();
  const grid = ctx.as.grid_dc;
  const cc = ctx.as.cc_dc;
  const far = ctx.as.cc_xc;
  const body = file(JPEG, 4000, 'scene-photo');
  const r = await upload(me, body, 'image/jpeg');
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  for (const c of [neighbour, grid, cc, far]) {
    const g = await c.get(`/api/v1/attachments/${id}`);
    expectError(g, 404, 'not_found');
    expectError(await c.get(`/api/v1/attachments/${id}/meta`), 404, 'not_found');
  }
  expectError(await me.get('/api/v1/attachments/999999999'), 404, 'not_found');
  expectError(await me.get('/api/v1/attachments/abc'), 404, 'not_found');

  // a report of the grid claims it (no route claims yet: as attach_claim does)
  const region = sqlRun(ctx, "SELECT region_code FROM users WHERE username = 'grid_dc'").trim();
  sqlRun(ctx, `UPDATE attachments SET owner_kind = 'incident', owner_id = 1, region_code = ${region}, claimed_at = 1 WHERE id = ${id}`);
  for (const c of [me, grid, cc]) {
    const g = await readBack(c, id);
    assert.equal(g.status, 200);
    assert.ok(g.buf.equals(body));
  }
  expectError(await far.get(`/api/v1/attachments/${id}`), 404, 'not_found');
  expectError(await neighbour.get(`/api/v1/attachments/${id}`), 404, 'not_found');
  // an enterprise account of the grid sees no reports
  expectError(await ctx.as.ent_dc.get(`/api/v1/attachments/${id}`), 404, 'not_found');
  const m = await grid.get(`/api/v1/attachments/${id}/meta`);
  assert.equal(m.status, 200, m.text);
  assert.deepEqual([m.body.claimed, m.body.mine], [true, false]);
});

test('uploads and reads are audited, refused reads too', async () => {
  const me = await resident();
  const grid = ctx.as.grid_dc;
  const r = await upload(grid, file(PNG, 3000), 'image/png');
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  assert.equal((await readBack(grid, id)).status, 200);
  expectError(await me.get(`/api/v1/attachments/${id}`), 404, 'not_found');
  const auditor = ctx.as.auditor;
  const up = await auditEntries(auditor, 'attachment.upload', id);
  assert.equal(up.length, 1);
  assert.equal(up[0].username, 'grid_dc');
  assert.equal(up[0].result, 'ok');
  assert.equal(up[0].detail, 'class=image size=3000');
  const reads = await auditEntries(auditor, 'attachment.read', id);
  assert.ok(reads.some((e) => e.username === 'grid_dc' && e.result === 'ok'), JSON.stringify(reads));
  assert.ok(reads.some((e) => e.result === 'not_found' && e.username !== 'grid_dc'), JSON.stringify(reads));
});

test('the hourly limits: uploads and bytes per user (FK_ATTACH_UPLOADS_PER_HOUR, FK_ATTACH_MB_PER_HOUR)', async () => {
  const s = await startCityWith({}, PW, { env: { FK_ATTACH_UPLOADS_PER_HOUR: '4', FK_ATTACH_MB_PER_HOUR: '1' } });
  servers.push(s);
  const me = await resident(s);
  const other = await resident(s);
  assert.equal((await upload(me, file(JPEG, 700 * 1024), 'image/jpeg')).status, 201);
  // 1.4 MB in the hour: refused on the bytes
  expectError(await upload(me, file(JPEG, 700 * 1024), 'image/jpeg'), 429, 'upload_rate_limited');
  assert.equal((await upload(me, file(JPEG, 1000), 'image/jpeg')).status, 201);
  assert.equal((await upload(me, file(JPEG, 1000), 'image/jpeg')).status, 201);
  // the fifth attempt (the refused one counts)
  expectError(await upload(me, file(JPEG, 1000), 'image/jpeg'), 429, 'upload_rate_limited');
  assert.equal(rows(s), 3);
  // per user
  assert.equal((await upload(other, file(JPEG, 1000), 'image/jpeg')).status, 201);
});

test('uploads nobody claimed within 24 hours are purged: `fangkong attach purge`, and the server every FK_ATTACH_PURGE seconds', async () => {
  const me = await resident();
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await upload(me, file(JPEG, 500), 'image/jpeg')).body.id);
  const day = 24 * 3600 * 1000;
  // the first two are a day old; the second is claimed by a record
  sqlRun(ctx, `UPDATE attachments SET created_at = ${Date.now() - day - 60000} WHERE id IN (${ids[0]}, ${ids[1]})`);
  sqlRun(ctx, `UPDATE attachments SET owner_kind = 'check', owner_id = 3, claimed_at = 1 WHERE id = ${ids[1]}`);
  const out = ctx.must(['attach', 'purge']);
  assert.match(out, /purged 1 unclaimed/);
  expectError(await me.get(`/api/v1/attachments/${ids[0]}`), 404, 'not_found');
  for (const id of ids.slice(1)) assert.equal((await me.get(`/api/v1/attachments/${id}/meta`)).status, 200);

  const s = await startCityWith({}, PW, { env: { FK_ATTACH_PURGE: '1' } });
  servers.push(s);
  const other = await resident(s);
  const old = (await upload(other, file(PNG, 500), 'image/png')).body.id;
  const young = (await upload(other, file(PNG, 500), 'image/png')).body.id;
  sqlRun(s, `UPDATE attachments SET created_at = ${Date.now() - day - 60000} WHERE id = ${old}`);
  assert.ok(await until(() => sqlRun(s, `SELECT COUNT(*) FROM attachments WHERE id = ${old}`).trim() === '0', 5000), 'purged by the server');
  assert.equal(sqlRun(s, `SELECT COUNT(*) FROM attachments WHERE id = ${young}`).trim(), '1');
});
