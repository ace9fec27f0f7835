// Face access with consent (docs/face.md) against a real mosquitto on
// loopback: a fake face terminal is an MQTT client in the test
// (mosquitto_sub for its commands, mosquitto_pub for its acks and
// passages, with the credentials the registry issued). A resident consents
// and enrols a photo; the terminal gets it and acks; its passages become
// access records; withdrawing deletes the photo at once and stays
// "withdrawing" until the terminal acked the delete, sent again when the
// terminal is heard from after being away; a passage of the withdrawn
// person flags the terminal. Bad input on every endpoint; scope.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, sqlRun } from './lib.mjs';
import { resident, alerts, auditWhere, expectError, COMMUNITY, OTHER_COMMUNITY } from './devlib.mjs';
import { startFaceCity, until, image, JPEG, upload } from './facelib.mjs';

let f, ctx;
// FK_FACE_SWEEP off: here resends happen only when a terminal is heard from
// (the sweep has its own suite, face-terminals.test.mjs)
before(async () => {
  f = await startFaceCity({ FK_FACE_RETRY_S: '1', FK_FACE_SWEEP: '0' });
  ctx = f.ctx;
});
after(async () => { await f?.stop(); });
const terminal = (venue, name) => f.terminal(venue, name);
const WEBP = [...Buffer.from('RIFF'), 0x24, 0, 0, 0, ...Buffer.from('WEBPVP8 ')];

let me, other, termA, termB, enrolment, photoId;

test('the consent is given to the current text only, once; no photo without it', async () => {
  me = await resident(ctx, COMMUNITY, '刘晓');
  termA = await terminal(ctx.venue, '东门人脸终端');
  termB = await terminal(ctx.venue, '西门人脸终端');
  await termA.online();
  let r = await me.get('/api/v1/me/face');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.enrolment, null);
  assert.match(r.body.consent_text, /撤回/);
  const version = r.body.consent_version;

  // a photo before consent: refused, and the upload stays unclaimed
  const early = await upload(me, image(JPEG, 4000), 'image/jpeg');
  expectError(await me.post('/api/v1/me/face/photo', { attachment: early }), 409, 'consent_required');
  // bad consent bodies
  expectError(await me.post('/api/v1/me/face/consent', { version: 'face-2019' }), 400, 'consent_version_stale', 'version');
  expectError(await me.post('/api/v1/me/face/consent', {}), 400, 'required', 'version');
  expectError(await me.post('/api/v1/me/face/consent', { version, x: 1 }), 400, 'unknown_field');
  // staff cannot enrol without the resident's consent either
  const staffUp = await upload(ctx.grid, image(JPEG, 4000), 'image/jpeg');
  expectError(await ctx.grid.post('/api/v1/face/enrol', { person_id: me.person.id, attachment: staffUp }), 409, 'consent_required');

  r = await me.post('/api/v1/me/face/consent', { version });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.enrolment.state, 'consented');
  assert.equal(r.body.enrolment.consent_version, version);
  assert.ok(r.body.enrolment.consent_at > 0);
  expectError(await me.post('/api/v1/me/face/consent', { version }), 409, 'consent_exists');
  // non-residents have no "me"
  assert.equal((await ctx.grid.post('/api/v1/me/face/consent', { version })).status, 403);
});

test('a photo is sniffed and size-limited; the enrolment reaches the terminals, which ack', async () => {
  // not an image, not a JPEG/PNG, someone else's upload, a malformed id
  const webp = await upload(me, image(WEBP, 3000), 'image/webp');
  expectError(await me.post('/api/v1/me/face/photo', { attachment: webp }), 400, 'unsupported_type', 'attachment');
  const big = await upload(me, image(JPEG, (2 << 20) + 1), 'image/jpeg');
  expectError(await me.post('/api/v1/me/face/photo', { attachment: big }), 413, 'too_large', 'attachment');
  other = await resident(ctx, COMMUNITY, '赵敏');
  const theirs = await upload(other, image(JPEG, 3000), 'image/jpeg');
  expectError(await me.post('/api/v1/me/face/photo', { attachment: theirs }), 400, 'invalid_attachment', 'attachment');
  expectError(await me.post('/api/v1/me/face/photo', { attachment: 'abc' }), 400, 'invalid_attachment', 'attachment');
  expectError(await me.post('/api/v1/me/face/photo', {}), 400, 'required', 'attachment');
  let r = await me.get('/api/v1/me/face');
  assert.equal(r.body.enrolment.state, 'consented', 'nothing changed');
  assert.equal(r.body.enrolment.photo, false);

  const photo = image(JPEG, 5000);
  photoId = await upload(me, photo, 'image/jpeg');
  r = await me.post('/api/v1/me/face/photo', { attachment: photoId });
  assert.equal(r.status, 201, r.text);
  enrolment = r.body.enrolment;
  assert.equal(enrolment.state, 'enrolled');
  assert.equal(enrolment.photo, true);
  expectError(await me.post('/api/v1/me/face/photo', { attachment: photoId }), 409, 'already_enrolled');

  // terminal A (online) got the photo, byte for byte, with a masked name
  const cmd = await termA.next('enrol');
  assert.equal(cmd.face_id, enrolment.id);
  assert.equal(cmd.mime, 'image/jpeg');
  assert.equal(cmd.name, '刘*');
  assert.ok(Buffer.from(cmd.photo, 'base64').equals(photo), 'the photo as enrolled');
  // staff see A pending until it acks, B (offline) pending
  let d = (await ctx.grid.get(`/api/v1/face/enrolments/${enrolment.id}`)).body;
  assert.equal(d.terminals.length, 2);
  assert.ok(d.terminals.every((t) => t.state === 'pending_enrol'));
  assert.equal(d.person_name, '刘*');
  termA.ack(cmd);
  assert.ok(await until(async () => {
    d = (await ctx.grid.get(`/api/v1/face/enrolments/${enrolment.id}`)).body;
    return d.terminals.find((t) => t.device_id === termA.id).state === 'holds';
  }), 'A holds the face');
  assert.equal(d.terminals.find((t) => t.device_id === termB.id).state, 'pending_enrol');

  // B comes online: its heartbeat gets it the enrolment again
  await termB.online();
  const cmdB = await termB.heardUntil('enrol');
  termB.ack(cmdB);
  assert.ok(await until(async () => (await ctx.grid.get(`/api/v1/face/enrolments/${enrolment.id}`)).body.terminals_holding === 2));

  // the photo reads are audited
  r = await ctx.grid.get(`/api/v1/face/enrolments/${enrolment.id}/photo`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cache-control'), 'private, no-store');
  const audit = await auditWhere(ctx, 'action=face.photo_read', (x) => x.object_id === enrolment.id);
  assert.ok(audit.some((x) => x.object_id === enrolment.id));
  assert.ok((await auditWhere(ctx, 'action=face.enrol', (x) => x.object_id === enrolment.id)).some((x) => x.object_id === enrolment.id));
});

test('a passage reported by the terminal is an access record of its venue; bad messages change nothing', async () => {
  termA.pub('passages', { face_id: enrolment.id, direction: 'in', temperature: 36.5 });
  const records = async () => (await ctx.grid.get(`/api/v1/access-records?venue_id=${ctx.venue.id}`)).body.items || [];
  assert.ok(await until(async () => (await records()).some((x) => x.method === 'device' && x.person_name === '刘*')), 'recorded');
  const n = (await records()).length;
  termA.pub('passages', 'not json');
  termA.pub('passages', { face_id: enrolment.id, direction: 'up' });
  termA.pub('passages', { face_id: '123', direction: 'in' });
  termA.pub('acks', { command_id: 'x' });
  termA.pub('passages', { face_id: enrolment.id, direction: 'out' }); // a positive control after them
  assert.ok(await until(async () => (await records()).length === n + 1));
  await sleep(300);
  assert.equal((await records()).length, n + 1, 'only the good one');
});

test('scope: staff of another community see nothing; a resident only their own', async () => {
  expectError(await ctx.gridOther.get(`/api/v1/face/enrolments/${enrolment.id}`), 404, 'not_found');
  expectError(await ctx.gridOther.get(`/api/v1/face/enrolments/${enrolment.id}/photo`), 404, 'not_found');
  assert.equal((await ctx.gridOther.get('/api/v1/face/enrolments')).body.total, 0);
  assert.ok((await ctx.grid.get('/api/v1/face/enrolments')).body.items.some((x) => x.id === enrolment.id));
  expectError(await ctx.grid.get('/api/v1/face/enrolments?state=bogus'), 400, 'invalid_parameter', 'state');
  assert.equal((await other.get('/api/v1/face/enrolments')).status, 403);
  assert.equal((await ctx.gate.get('/api/v1/face/enrolments')).status, 403, 'checkpoint staff lack face.manage');
  const r = await other.get('/api/v1/me/face');
  assert.equal(r.body.enrolment, null, "another resident does not see mine");
  expectError(await other.get('/api/v1/me/face/photo'), 404, 'no_consent');
  expectError(await ctx.gridOther.post('/api/v1/face/enrol', { person_id: other.person.id, attachment: '1' }), 404, 'unknown_person', 'person_id');
  expectError(await ctx.grid.post('/api/v1/face/enrol', { person_id: 'x', attachment: '1' }), 400, 'invalid_id', 'person_id');
});

test('withdrawing deletes the photo at once; deleted only when every terminal acked', async () => {
  termB.offline();
  let r = await me.del('/api/v1/me/face');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.enrolment.state, 'withdrawing');
  assert.equal(r.body.enrolment.photo, false);
  // gone from the platform: the attachment row and every read
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM attachments WHERE id = ${photoId}`).trim(), '0');
  expectError(await me.get('/api/v1/me/face/photo'), 404, 'no_photo');
  assert.equal((await me.get(`/api/v1/attachments/${photoId}`)).status, 404);
  assert.equal((await ctx.grid.get(`/api/v1/face/enrolments/${enrolment.id}/photo`)).status, 404);
  expectError(await me.del('/api/v1/me/face'), 409, 'withdrawn');

  const del = await termA.next('delete');
  assert.equal(del.face_id, enrolment.id);
  assert.equal(del.photo, undefined);
  termA.ack(del);
  let d;
  assert.ok(await until(async () => {
    d = (await ctx.grid.get(`/api/v1/face/enrolments/${enrolment.id}`)).body;
    return d.terminals.find((t) => t.device_id === termA.id).state === 'deleted';
  }));
  assert.equal(d.state, 'withdrawing', 'B has not acked');
  assert.equal(d.terminals.find((t) => t.device_id === termB.id).state, 'pending_delete');

  // B, still holding the face, reports the person: flagged and alerted
  termB.pub('passages', { face_id: enrolment.id, direction: 'in' });
  assert.ok(await until(async () => (await alerts(ctx.grid, '?kind=face_withdrawn')).some((a) => a.device_id === termB.id)));
  assert.ok(await until(async () => (await ctx.grid.get(`/api/v1/face/enrolments/${enrolment.id}`)).body.flags === 1));

  // B back online: told again, acks: deleted
  await termB.online();
  const delB = await termB.heardUntil('delete');
  termB.ack(delB);
  assert.ok(await until(async () => (await ctx.grid.get(`/api/v1/face/enrolments/${enrolment.id}`)).body.state === 'deleted'));
  r = await me.get('/api/v1/me/face');
  assert.equal(r.body.enrolment, null, 'a deleted enrolment is history; the resident may consent anew');
  assert.ok((await auditWhere(ctx, 'action=face.withdraw', (x) => x.object_id === enrolment.id)).some((x) => x.object_id === enrolment.id));
});

test('staff enrol for a consenting resident; a consent without terminals withdrawn is deleted at once', async () => {
  const v = (await other.get('/api/v1/me/face')).body.consent_version;
  assert.equal((await other.post('/api/v1/me/face/consent', { version: v })).status, 201);
  const up = await upload(ctx.grid, image(JPEG, 3000), 'image/jpeg');
  const r = await ctx.grid.post('/api/v1/face/enrol', { person_id: other.person.id, attachment: up });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.state, 'enrolled');
  assert.equal(r.body.terminals.length, 2);
  // a resident of a community with no terminal: withdrawal is final at once
  const far = await resident(ctx, OTHER_COMMUNITY, '孙立');
  assert.equal((await far.post('/api/v1/me/face/consent', { version: v })).status, 201);
  const w = await far.del('/api/v1/me/face');
  assert.equal(w.status, 200, w.text);
  assert.equal(w.body.enrolment.state, 'deleted');
});
