// Master key rotation (docs/keys.md) over a demo district, on whichever
// database the suite runs (SQLite, or PostgreSQL under with-postgres.sh):
// only key.admin may start it (system and audit administrators are refused
// and the refusal audited); bad input changes nothing; the sweep re-seals
// in small batches, is killed with SIGKILL mid-way and resumes from its
// cursors after a restart; both versions open all along; after the
// administrator confirms, the old key leaves the key file; every value then
// names the new version and still opens (the people read back unchanged),
// sessions made before survive, the audit chain still verifies.
// Blind indexes and the token key rotate too: mid-way, people whose indexes
// are still under version 1 are found by id number, phone and name, a new
// person (indexed under 2) with an existing person's id number is refused,
// a venue code printed before verifies until the old key is destroyed and
// is then refused asking for a reprint; every index ends under version 2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { auditEntries, expectError, residentId, sqlRun, startServer, totpSecretFrom } from './lib.mjs';

const PW = 'Rotate@2024pass';
const DEMO = { username: 'command', password: PW };
let ctx, sec, sys, auditor, command;
const ids = {};

function addUser(c, username, role) {
  return totpSecretFrom(c.must(['user', 'add', '--username', username, '--password', PW, '--role', role, '--region', '440000000000']));
}

async function signIn(username, secret) {
  const c = ctx.client();
  await c.login(username, PW, secret);
  ids[username] = (await c.get('/api/v1/me')).body.id;
  return c;
}

const keyFile = () => path.join(ctx.dir, 'keys', 'master.key');
const status = async () => {
  const r = await sec.get('/api/v1/security/keys');
  assert.equal(r.status, 200, r.text);
  return r.body;
};

// Values of the sealed columns not under key version v, per column (the
// first byte of a sealed value names its version: crypto.h).
function notUnder(columns, v) {
  const first = (c) => (ctx.dbUrl ? `get_byte(${c}, 0)` : `unicode(substr(${c}, 1, 1))`);
  const sql = columns
    .map((name) => {
      const [t, c] = name.split('.');
      return `SELECT '${name}', COUNT(*) FROM ${t} WHERE ${c} IS NOT NULL AND ${first(c)} <> ${v}`;
    })
    .join(' UNION ALL ');
  const out = {};
  for (const line of sqlRun(ctx, sql).trim().split('\n')) {
    const [name, n] = line.split('|');
    if (Number(n)) out[name] = Number(n);
  }
  return out;
}

async function people(c) {
  const all = [];
  for (let page = 1; ; page++) {
    const r = await c.get(`/api/v1/persons?reveal=1&page_size=200&page=${page}`);
    assert.equal(r.status, 200, r.text);
    all.push(...r.body.items.map((p) => `${p.id}|${p.name}|${p.id_number}|${p.phone ?? ''}`));
    if (r.body.items.length === 0 || all.length >= r.body.total) break;
  }
  return all.sort();
}

before(async () => {
  const secrets = {};
  ctx = await startServer({
    // small batches, one a second: the SIGKILL lands mid-way
    env: { FK_KEYROT_EVERY: '1', FK_KEYROT_BATCH: '40', FK_KEYROT_BATCHES: '1' },
    setup: (c) => {
      const demo = c.fk(['demo', '--persons', '200', '--seed', '7', '--password', PW]);
      assert.equal(demo.status, 0, demo.stderr);
      secrets.sec = addUser(c, 'rot_sec', 'security_admin');
      secrets.sys = addUser(c, 'rot_sys', 'system_admin');
      secrets.auditor = addUser(c, 'rot_audit', 'audit_admin');
    },
  });
  sec = await signIn('rot_sec', secrets.sec);
  sys = await signIn('rot_sys', secrets.sys);
  auditor = await signIn('rot_audit', secrets.auditor);
  command = ctx.client();
  const r = await command.post('/api/v1/auth/login', DEMO);
  assert.equal(r.status, 200, r.text);
});

after(async () => {
  await ctx?.stop();
});

test('only the security administrator manages keys; refusals are audited and change nothing', async () => {
  const before = fs.readFileSync(keyFile(), 'utf8');
  for (const c of [sys, auditor, command]) {
    expectError(await c.get('/api/v1/security/keys'), 403, 'forbidden');
    expectError(await c.post('/api/v1/security/keys/rotations', { confirm: true }), 403, 'forbidden');
  }
  const refused = await auditEntries(auditor, 'route.refused');
  assert.ok(refused.some((e) => e.user_id === ids.rot_sys && e.result === 'forbidden' && e.detail === '/api/v1/security/keys/rotations'));
  assert.ok(refused.some((e) => e.user_id === ids.rot_audit && e.detail === '/api/v1/security/keys'));

  // bad input
  expectError(await sec.post('/api/v1/security/keys/rotations', {}), 400, 'required', 'confirm');
  expectError(await sec.post('/api/v1/security/keys/rotations', { confirm: 'yes' }), 400, 'invalid_type', 'confirm');
  expectError(await sec.post('/api/v1/security/keys/rotations', { confirm: false }), 400, 'confirm_required', 'confirm');
  expectError(await sec.post('/api/v1/security/keys/rotations/123/destroy', { confirm_version: 1 }), 404, 'rotation_not_found');
  expectError(await sec.post('/api/v1/security/keys/rotations/abc/destroy', { confirm_version: 1 }), 404, 'not_found');
  expectError(await sec.post('/api/v1/security/keys/rotations/123/retry'), 404, 'rotation_not_found');
  assert.equal(fs.readFileSync(keyFile(), 'utf8'), before, 'the key file is untouched');

  const s = await status();
  assert.equal(s.current_version, 1);
  assert.deepEqual(s.versions, [1]);
  assert.deepEqual(s.rotations, []);
  // no rotation yet: no printed venue code is to be reprinted
  assert.deepEqual(s.reprint, { since: 0, venues: 0 });
});

let rotation, columns, peopleBefore, venueId, oldVenueToken;
let car, carId, carBidx; // a vehicle registered under version 1, its id, its plate's index then

// Searches by blind index must find these people all along.
async function findsEveryWay(c, line, why) {
  const [id, name, idn, phone] = line.split('|');
  const byId = await c.get(`/api/v1/persons?id_number=${encodeURIComponent(idn)}`);
  assert.equal(byId.status, 200, byId.text);
  assert.ok(byId.body.items.some((p) => p.id === id), `${why}: found by id number`);
  if (phone) {
    const byPhone = await c.get(`/api/v1/persons?phone=${encodeURIComponent(phone)}`);
    assert.equal(byPhone.status, 200, byPhone.text);
    assert.ok(byPhone.body.items.some((p) => p.id === id), `${why}: found by phone`);
  }
  const byName = await c.get(`/api/v1/persons?name=${encodeURIComponent(name)}&page_size=200`);
  assert.equal(byName.status, 200, byName.text);
  assert.ok(byName.body.items.some((p) => p.id === id), `${why}: found by name`);
}

// The rotation's progress row of one column, read from the database.
const progressOf = (column) => {
  const [done, cursor] = sqlRun(ctx, `SELECT done, cursor FROM key_rotation_progress WHERE column_name = '${column}' AND rotation_id = ${rotation}`).trim().split('|').map(Number);
  return { done, cursor };
};

test('a venue code is printed before the rotation', async () => {
  const list = await sec.get('/api/v1/venues?page_size=1');
  const lister = list.status === 200 ? sec : command;
  const r = await lister.get('/api/v1/venues?page_size=1');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.items.length > 0, 'the demo has venues');
  venueId = r.body.items[0].id;
  const code = await lister.get(`/api/v1/venues/${venueId}/code`);
  assert.equal(code.status, 200, code.text);
  oldVenueToken = code.body.token;
  const ok = await command.post('/api/v1/venue-codes/verify', { token: oldVenueToken });
  assert.equal(ok.status, 200, ok.text);
});

// The blind index of a vehicle's plate as stored (hex).
const plateBidx = (id) => sqlRun(ctx, ctx.dbUrl ? `SELECT encode(plate_bidx, 'hex') FROM vehicles WHERE id = ${id}` : `SELECT lower(hex(plate_bidx)) FROM vehicles WHERE id = ${id}`).trim();

test('a vehicle is registered before the rotation', async () => {
  const p = await command.get('/api/v1/persons?page_size=1');
  assert.equal(p.status, 200, p.text);
  car = { plate: '粤B5X321', kind: 'car', owner_person_id: p.body.items[0].id };
  const r = await command.post('/api/v1/vehicles', car);
  assert.equal(r.status, 201, r.text);
  carId = r.body.id;
  carBidx = plateBidx(carId);
  assert.match(carBidx, /^[0-9a-f]{32}$/);
  expectError(await command.post('/api/v1/vehicles', car), 409, 'duplicate_plate', 'plate');
});

test('a rotation re-seals in the background, survives SIGKILL and resumes from its cursors', async () => {
  peopleBefore = await people(command);
  assert.ok(peopleBefore.length >= 200, `the demo made ${peopleBefore.length} people`);

  const r = await sec.post('/api/v1/security/keys/rotations', { confirm: true });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.to_version, 2);
  rotation = r.body.id;
  const text = fs.readFileSync(keyFile(), 'utf8');
  assert.match(text, /^fangkong-keys 2\ncurrent 2\nkey 1 [0-9a-f]{64}\nkey 2 [0-9a-f]{64}\nsince 2 \d{13}\n$/);
  assert.equal(fs.statSync(keyFile()).mode & 0o777, 0o600);
  expectError(await sec.post('/api/v1/security/keys/rotations', { confirm: true }), 409, 'rotation_running');
  expectError(await sec.post(`/api/v1/security/keys/rotations/${rotation}/destroy`, { confirm_version: 1 }), 409, 'rotation_not_resealed');
  const started = await auditEntries(auditor, 'key.rotate', rotation);
  assert.equal(started[0].user_id, ids.rot_sec);

  let s = await status();
  assert.equal(s.current_version, 2);
  assert.deepEqual(s.versions, [1, 2]);
  // the sealed columns (the blind indexes' progress rows are checked apart)
  columns = s.rotations[0].progress.filter((p) => p.kind === 'sealed').map((p) => p.column);
  assert.ok(columns.includes('persons.name_enc') && columns.includes('attachments.data_enc'));
  assert.ok(s.rotations[0].progress.every((p) => p.table_name && /[\u4e00-\u9fff]/.test(p.table_name)));

  // wait for a few batches, then kill the server mid-way
  const moved = async () => {
    s = await status();
    return s.rotations[0].progress.reduce((n, p) => n + p.resealed, 0) >= 80;
  };
  for (let i = 0; i < 200 && !(await moved()); i++) await new Promise((res) => setTimeout(res, 50));
  assert.ok(await moved(), 'the sweep re-sealed some values');
  await ctx.stop('SIGKILL');
  const left = notUnder(columns, 2);
  const remaining = Object.values(left).reduce((a, b) => a + b, 0);
  assert.ok(remaining > 0, 'killed mid-way: values remain under version 1');
  const v1before = remaining;

  // both versions open while the rotation is half done, after a restart
  // (slow still: the page is read before the sweep has gone far)
  await ctx.restart();
  assert.deepEqual(await people(command), peopleBefore, 'both versions open mid-way');
  const cursorsAfterRestart = (await status()).rotations[0].progress.filter((p) => p.done > 0).length;
  assert.ok(cursorsAfterRestart > 0, 'the progress survived the kill');

  // the people's blind indexes are not re-indexed yet (the walk goes in
  // column-name order and is slow here): version 1's, found all the same
  assert.ok(s.rotations[0].progress.some((p) => p.column === 'persons.id_number_bidx'), 'blind indexes are in the progress');
  assert.equal(progressOf('persons.id_number_bidx').done, 0, 'the persons are still indexed under version 1');
  for (const line of [peopleBefore[0], peopleBefore[peopleBefore.length - 1]]) await findsEveryWay(command, line, 'under version 1 mid-way');

  // a new person is indexed under version 2 and found; one with the id
  // number of a person indexed under version 1 is refused (the unique index
  // sees one version only: the check looks under both)
  const [oldId, , oldIdn] = peopleBefore[1].split('|');
  const detail = await command.get(`/api/v1/persons/${oldId}`);
  assert.equal(detail.status, 200, detail.text);
  const region = detail.body.region_code;
  expectError(await command.post('/api/v1/persons', { name: '重号测试', id_number: oldIdn, region_code: region, address: '轮换路1号' }), 409, 'duplicate_person');
  const fresh = { name: '轮换新增', id_number: residentId('110101', '19880808', 321), phone: '13912345678', region_code: region, address: '轮换路2号' };
  const created = await command.post('/api/v1/persons', fresh);
  assert.equal(created.status, 201, created.text);
  await findsEveryWay(command, `${created.body.id}|${fresh.name}|${fresh.id_number}|${fresh.phone}`, 'under version 2');
  expectError(await command.post('/api/v1/persons', { ...fresh, name: '重号测试二' }), 409, 'duplicate_person');
  peopleBefore = await people(command);
  // a plate registered under version 1, not re-indexed yet (vehicles come
  // after persons in the walk): the unique index sees version 2's digest
  // only, the duplicate rule looks under both
  assert.equal(progressOf('vehicles.plate_bidx').done, 0, 'the vehicles are still indexed under version 1');
  assert.equal(plateBidx(carId), carBidx);
  expectError(await command.post('/api/v1/vehicles', car), 409, 'duplicate_plate', 'plate');

  // the venue code printed before verifies during the rotation
  const during = await command.post('/api/v1/venue-codes/verify', { token: oldVenueToken });
  assert.equal(during.status, 200, during.text);

  // restart fast: it finishes from the cursors
  await ctx.stop();
  Object.assign(ctx.env, { FK_KEYROT_BATCH: '5000', FK_KEYROT_BATCHES: '1000' });
  await ctx.restart();
  const done = async () => (await status()).rotations[0].state === 'resealed';
  for (let i = 0; i < 300 && !(await done()); i++) await new Promise((res) => setTimeout(res, 50));
  s = await status();
  assert.equal(s.rotations[0].state, 'resealed', JSON.stringify(s.rotations[0]));
  assert.ok(s.rotations[0].progress.every((p) => p.finished && p.done >= p.total && p.total >= 0));
  const resealed = s.rotations[0].progress.reduce((n, p) => n + p.resealed, 0);
  assert.ok(resealed >= v1before, `${resealed} re-sealed in all, ${v1before} were left at the kill`);
  assert.deepEqual(notUnder(columns, 2), {}, 'every sealed value is under version 2');
  const blind = s.rotations[0].progress.filter((p) => p.kind === 'blind');
  assert.equal(blind.length, 21, 'every blind index is walked');
  assert.ok(progressOf('persons.id_number_bidx').done >= 200, 'the persons were re-indexed');
  const reindexed = blind.filter((p) => p.column.startsWith('persons.')).reduce((n, p) => n + p.resealed, 0);
  assert.ok(reindexed >= 3 * 200, `${reindexed} person indexes re-computed`);
  for (const line of [peopleBefore[0], peopleBefore[peopleBefore.length - 1]]) await findsEveryWay(command, line, 'under version 2');
  // the walk re-computed the plate's index under version 2: still the one plate
  assert.ok(progressOf('vehicles.plate_bidx').done >= 1, 'the vehicles were re-indexed');
  assert.notEqual(plateBidx(carId), carBidx, 'the plate is indexed under version 2');
  expectError(await command.post('/api/v1/vehicles', car), 409, 'duplicate_plate', 'plate');
  assert.equal((await auditEntries(auditor, 'key.resealed', rotation)).length, 1);
  assert.match(fs.readFileSync(keyFile(), 'utf8'), /\nkey 1 /, 'the old key stays until confirmed');
});

// The printed venue codes the destruction would refuse: counted across the
// city for the security administrator, listed by the venue list
// (needs_reprint=1); printing one again (code.png) moves the count down by
// one, once.
test('the venue codes to reprint are counted; a reprint moves the count from N to N-1', async () => {
  const since = Number(/\nsince 2 (\d+)\n/.exec(fs.readFileSync(keyFile(), 'utf8'))[1]);
  const live = Number(sqlRun(ctx, 'SELECT COUNT(*) FROM venues WHERE deleted_at = 0').trim());
  assert.ok(live > 1, 'the demo has venues');
  let s = await status();
  assert.deepEqual(s.reprint, { since, venues: live }, 'every venue was printed before the rotation');

  const lister = (await sec.get('/api/v1/venues?page_size=1')).status === 200 ? sec : command;
  expectError(await lister.get('/api/v1/venues?needs_reprint=2'), 400, 'invalid_parameter', 'needs_reprint');
  const all = (await lister.get('/api/v1/venues?page_size=1')).body.total;
  const listed = await lister.get('/api/v1/venues?needs_reprint=1&page_size=200');
  assert.equal(listed.status, 200, listed.text);
  assert.equal(listed.body.total, all, 'the list finds every venue of the scope');
  assert.ok(listed.body.items.every((v) => v.needs_reprint === true && v.code_issued_at < since));
  const one = listed.body.items.find((v) => v.id !== venueId);
  assert.ok(one, 'a second venue');

  const png = await lister.get(`/api/v1/venues/${one.id}/code.png`);
  assert.equal(png.status, 200, png.text);
  assert.equal(png.headers.get('content-type'), 'image/png');
  s = await status();
  assert.equal(s.reprint.venues, live - 1, 'the reprint moved the count');
  const after = await lister.get('/api/v1/venues?needs_reprint=1&page_size=200');
  assert.equal(after.body.total, all - 1);
  assert.ok(!after.body.items.some((v) => v.id === one.id), 'the reprinted venue leaves the list');
  const got = (await lister.get(`/api/v1/venues/${one.id}`)).body;
  assert.equal(got.needs_reprint, false);
  assert.ok(got.code_issued_at >= since);
  assert.equal(got.code_version, one.code_version, 'a reprint does not revoke the copies printed before');
  const reissued = await auditEntries(auditor, 'venue.code_reissue', one.id);
  assert.equal(reissued.length, 1);
  assert.equal(reissued[0].user_id, (await lister.get('/api/v1/me')).body.id);

  // printing it again changes nothing more; the code given out verifies
  const code = await lister.get(`/api/v1/venues/${one.id}/code`);
  assert.equal(code.status, 200, code.text);
  assert.equal(code.body.issued_at, got.code_issued_at);
  assert.equal((await command.post('/api/v1/venue-codes/verify', { token: code.body.token })).status, 200);
  assert.equal((await status()).reprint.venues, live - 1);
  assert.equal((await auditEntries(auditor, 'venue.code_reissue', one.id)).length, 1);
});

test('the destruction needs the old version typed, then removes it from the key file', async () => {
  expectError(await sec.post(`/api/v1/security/keys/rotations/${rotation}/destroy`, {}), 400, 'required', 'confirm_version');
  expectError(await sec.post(`/api/v1/security/keys/rotations/${rotation}/destroy`, { confirm_version: 2 }), 400, 'confirm_mismatch', 'confirm_version');
  expectError(await sec.post(`/api/v1/security/keys/rotations/${rotation}/destroy`, { confirm_version: 0 }), 400, 'out_of_range', 'confirm_version');
  expectError(await sys.post(`/api/v1/security/keys/rotations/${rotation}/destroy`, { confirm_version: 1 }), 403, 'forbidden');
  expectError(await sec.post(`/api/v1/security/keys/rotations/${rotation}/retry`), 409, 'rotation_not_failed');
  assert.match(fs.readFileSync(keyFile(), 'utf8'), /\nkey 1 /);

  const r = await sec.post(`/api/v1/security/keys/rotations/${rotation}/destroy`, { confirm_version: 1 });
  assert.equal(r.status, 202, r.text);
  const gone = async () => (await status()).rotations[0].state === 'destroyed';
  for (let i = 0; i < 200 && !(await gone()); i++) await new Promise((res) => setTimeout(res, 50));
  const s = await status();
  assert.equal(s.rotations[0].state, 'destroyed', JSON.stringify(s.rotations[0]));
  assert.deepEqual(s.versions, [2]);
  assert.equal(s.rotations[0].destroyed_by, 'rot_sec');
  const text = fs.readFileSync(keyFile(), 'utf8');
  assert.doesNotMatch(text, /\nkey 1 /);
  assert.match(text, /\nkey 2 [0-9a-f]{64}\nsince 2 \d+\nderived audit [0-9a-f]{64}\nderived audit-anchor [0-9a-f]{64}\n$/);
  assert.equal(fs.statSync(keyFile()).mode & 0o777, 0o600);
  assert.equal((await auditEntries(auditor, 'key.destroy_confirm', rotation))[0].user_id, ids.rot_sec);
  assert.equal((await auditEntries(auditor, 'key.destroyed', rotation)).length, 1);

  // after a restart on the rewritten key file: the same people, the same
  // sessions (the token key did not rotate), searches by blind index still
  // find them, and the audit chain made before still verifies
  await ctx.restart();
  assert.deepEqual(await people(command), peopleBefore, 'every value opens under version 2');
  const one = peopleBefore[0].split('|');
  const found = await command.get(`/api/v1/persons?id_number=${encodeURIComponent(one[2])}`);
  assert.equal(found.status, 200, found.text);
  assert.ok(found.body.items.some((p) => p.id === one[0]), 'the blind index still finds the person');
  await findsEveryWay(command, peopleBefore[2], 'after the destruction');
  const v = await auditor.get('/api/v1/audit/verify');
  assert.equal(v.status, 200, v.text);
  assert.equal(v.body.ok, true, v.text);

  // the venue code printed under version 1 is refused, asking for a reprint;
  // the code printed now (the same record, signed under version 2) verifies
  const old = await command.post('/api/v1/venue-codes/verify', { token: oldVenueToken });
  expectError(old, 400, 'token_key_retired', 'token');
  assert.match(old.body.error.message, /重新打印/);
  const lister = (await sec.get('/api/v1/venues?page_size=1')).status === 200 ? sec : command;
  const reprint = (await lister.get(`/api/v1/venues/${venueId}/code`)).body.token;
  assert.notEqual(reprint, oldVenueToken);
  const ok = await command.post('/api/v1/venue-codes/verify', { token: reprint });
  assert.equal(ok.status, 200, ok.text);
  // a forged tag on a code issued after the rotation is still called forged
  // (the issue time only picks the wording)
  const regen = await lister.post(`/api/v1/venues/${venueId}/code/regenerate`);
  assert.equal(regen.status, 200, regen.text);
  const fresh = (await lister.get(`/api/v1/venues/${venueId}/code`)).body.token;
  assert.equal((await command.post('/api/v1/venue-codes/verify', { token: fresh })).status, 200);
  const forged = fresh.slice(0, -2) + (fresh.endsWith('AA') ? 'BB' : 'AA');
  expectError(await command.post('/api/v1/venue-codes/verify', { token: forged }), 400, 'token_forged', 'token');

});

test('a value that does not open stops the rotation, named plainly; after repair it resumes', async () => {
  // one person's address replaced by the ciphertext of their name: a valid
  // sealed value, but bound to another field, so it must not open
  const id = peopleBefore[0].split('|')[0];
  const hex = ctx.dbUrl ? "encode(address_enc, 'hex')" : 'hex(address_enc)';
  const original = sqlRun(ctx, `SELECT ${hex} FROM persons WHERE id = ${id}`).trim();
  assert.match(original, /^[0-9a-fA-F]{60,}$/);
  sqlRun(ctx, `UPDATE persons SET address_enc = name_enc WHERE id = ${id}`);

  const again = await sec.post('/api/v1/security/keys/rotations', { confirm: true });
  assert.equal(again.status, 201, again.text);
  assert.equal(again.body.to_version, 3);
  const state = async () => (await status()).rotations[0];
  for (let i = 0; i < 300 && (await state()).state === 'running'; i++) await new Promise((res) => setTimeout(res, 50));
  let r = await state();
  assert.equal(r.state, 'failed', JSON.stringify(r));
  assert.ok(r.error.includes(`人员「地址」编号 ${id}`) && r.error.includes('无法解密'), r.error);
  assert.equal((await auditEntries(auditor, 'key.rotate_failed', again.body.id)).length, 1);
  expectError(await sec.post('/api/v1/security/keys/rotations', { confirm: true }), 409, 'rotation_running');
  const s = await status();
  assert.deepEqual(s.versions, [2, 3], 'both versions kept while it is stopped');

  // repaired, retried: it continues and finishes
  const lit = ctx.dbUrl ? `decode('${original}', 'hex')` : `X'${original}'`;
  sqlRun(ctx, `UPDATE persons SET address_enc = ${lit} WHERE id = ${id}`);
  const retry = await sec.post(`/api/v1/security/keys/rotations/${again.body.id}/retry`);
  assert.equal(retry.status, 202, retry.text);
  for (let i = 0; i < 300 && (await state()).state !== 'resealed'; i++) await new Promise((res) => setTimeout(res, 50));
  r = await state();
  assert.equal(r.state, 'resealed', JSON.stringify(r));
  assert.deepEqual(notUnder(columns, 3), {});
  assert.deepEqual(await people(command), peopleBefore);
});
