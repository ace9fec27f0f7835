// Face terminals that join or leave after enrolments exist, and the
// periodic resend with its bounded attempts (docs/face.md "Terminals that
// join or leave", "Resends and failures"), against a real mosquitto with
// fake terminals (facelib.mjs). The sweep runs every second here, a send
// is repeated after 1 s, and a command gets 3 sends before it is failed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { sleep, sqlRun } from './lib.mjs';
import { resident, alerts, expectError, COMMUNITY } from './devlib.mjs';
import { startFaceCity, until, image, JPEG, upload } from './facelib.mjs';

const ATTEMPTS = 3;
let f, ctx;
before(async () => {
  f = await startFaceCity({ FK_FACE_RETRY_S: '1', FK_FACE_SWEEP: '1', FK_FACE_RESEND_S: '1', FK_FACE_ATTEMPTS: String(ATTEMPTS) });
  ctx = f.ctx;
});
after(async () => { await f?.stop(); });

const detail = async (id) => {
  const r = await ctx.grid.get(`/api/v1/face/enrolments/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
};
const termState = (d, t) => d.terminals.find((x) => x.device_id === t.id)?.state;
const consentAndEnrol = async (name) => {
  const p = await resident(ctx, COMMUNITY, name);
  const v = (await p.get('/api/v1/me/face')).body.consent_version;
  assert.equal((await p.post('/api/v1/me/face/consent', { version: v })).status, 201);
  const r = await p.post('/api/v1/me/face/photo', { attachment: await upload(p, image(JPEG, 3000), 'image/jpeg') });
  assert.equal(r.status, 201, r.text);
  p.enrolment = r.body.enrolment;
  return p;
};

let termA, termC, termE, active, gone;
// A's command of op for enrolment p (a sweep may have repeated an earlier one)
const nextOf = async (t, op, p) => {
  assert.ok(await until(async () => t.commands.some((c) => c.op === op && c.face_id === p.enrolment.id)), `${op} for ${p.enrolment.id}`);
  return t.commands.find((c) => c.op === op && c.face_id === p.enrolment.id);
};

test('a terminal registered after the enrolments gets every active one, none withdrawn', async () => {
  termA = await f.terminal(ctx.venue, '东门人脸终端');
  await termA.online();
  active = await consentAndEnrol('周萍');
  termA.ack(await nextOf(termA, 'enrol', active));
  gone = await consentAndEnrol('吴刚');
  termA.ack(await nextOf(termA, 'enrol', gone));
  assert.equal((await gone.del('/api/v1/me/face')).status, 200);
  termA.ack(await nextOf(termA, 'delete', gone));
  assert.ok(await until(async () => (await detail(gone.enrolment.id)).state === 'deleted'));

  // registered now: the active face is queued for it at once, the withdrawn one never
  termC = await f.terminal(ctx.venue, '北门人脸终端');
  assert.equal(termState(await detail(active.enrolment.id), termC), 'pending_enrol');
  assert.equal(termState(await detail(gone.enrolment.id), termC), undefined);
  await termC.online();
  const cmd = await termC.heardUntil('enrol');
  assert.equal(cmd.face_id, active.enrolment.id);
  assert.equal(cmd.name, '周*');
  termC.ack(cmd);
  assert.ok(await until(async () => termState(await detail(active.enrolment.id), termC) === 'holds'));
  await sleep(1500); // sweeps pass: nothing more for C, and nothing of the withdrawn face
  assert.ok(termC.commands.every((c) => c.face_id !== gone.enrolment.id), 'no command of a withdrawn face');
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM face_commands WHERE device_id = ${termC.id} AND enrolment_id = ${active.enrolment.id}`).trim(), '1', 'queued once');

  // a terminal registered disabled gets nothing until it is enabled
  const off = await ctx.cc.post('/api/v1/devices', { name: '西门人脸终端', kind: 'face', venue_id: ctx.venue.id, heartbeat_s: 60, enabled: false });
  assert.equal(off.status, 201, off.text);
  assert.equal(termState(await detail(active.enrolment.id), off.body), undefined);
  assert.equal((await ctx.cc.patch(`/api/v1/devices/${off.body.id}`, { enabled: true })).status, 200);
  assert.equal(termState(await detail(active.enrolment.id), off.body), 'pending_enrol');
  // deleting it (never online) drops its pending enrol
  assert.equal((await ctx.cc.del(`/api/v1/devices/${off.body.id}`)).status, 204);
  assert.equal(termState(await detail(active.enrolment.id), off.body), 'removed');
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM face_commands WHERE device_id = ${off.body.id} AND state = 'pending'`).trim(), '0');
  // another community's terminal is not sent this community's faces
  const far = await ctx.cc.post('/api/v1/devices', { name: '隆福寺人脸终端', kind: 'face', venue_id: ctx.venueOther.id, heartbeat_s: 60 });
  assert.equal(far.status, 201, far.text);
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM face_commands WHERE device_id = ${far.body.id}`).trim(), '0');
  assert.equal((await ctx.cc.del(`/api/v1/devices/${far.body.id}`)).status, 204);
});

test('a terminal deleted while holding faces: its pending delete is dropped, the withdrawal settles', async () => {
  termC.offline();
  const w = await active.del('/api/v1/me/face');
  assert.equal(w.status, 200, w.text);
  assert.equal(w.body.enrolment.state, 'withdrawing');
  termA.ack(await nextOf(termA, 'delete', active));
  assert.ok(await until(async () => termState(await detail(active.enrolment.id), termA) === 'deleted'));
  let d = await detail(active.enrolment.id);
  assert.equal(d.state, 'withdrawing', 'C (offline) has not acked: the withdrawal waits');
  assert.equal(termState(d, termC), 'pending_delete');
  // C is deleted: nothing waits for it any more
  assert.equal((await ctx.cc.del(`/api/v1/devices/${termC.id}`)).status, 204);
  d = await detail(active.enrolment.id);
  assert.equal(d.state, 'deleted');
  assert.equal(termState(d, termC), 'removed');
  assert.equal(d.terminals.find((x) => x.device_id === termC.id).state_label, '终端已删除');
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM face_commands WHERE device_id = ${termC.id} AND state IN ('pending', 'failed')`).trim(), '0');
  assert.equal(sqlRun(ctx, `SELECT COUNT(*) FROM face_commands WHERE device_id = ${termC.id} AND state = 'dropped'`).trim(), '1');
});

test('unacknowledged commands are resent by the sweep a bounded number of times, then failed with one alert', async () => {
  // E listens but never answers nor sends anything: only the sweep resends to it
  termE = await f.terminal(ctx.venue, '南门人脸终端');
  await termE.online();
  const p = await consentAndEnrol('郑洁');
  termA.ack(await nextOf(termA, 'enrol', p));
  let d;
  assert.ok(await until(async () => termState(d = await detail(p.enrolment.id), termE) === 'enrol_failed', 15000), 'failed after the last send');
  const sent = termE.commands.filter((c) => c.face_id === p.enrolment.id && c.op === 'enrol');
  assert.equal(sent.length, ATTEMPTS, 'sent exactly FK_FACE_ATTEMPTS times');
  assert.ok(sent.every((c) => c.command_id === sent[0].command_id), 'the same command each time');
  const t = d.terminals.find((x) => x.device_id === termE.id);
  assert.equal(t.state_label, '下发失败');
  assert.equal(t.attempts, ATTEMPTS);
  assert.equal(d.terminals_failed, 1);
  assert.equal(termState(d, termA), 'holds', 'A acked: not failed');
  assert.equal((await ctx.grid.get('/api/v1/face/enrolments')).body.items.find((x) => x.id === p.enrolment.id).terminals_failed, 1);
  const mine = async () => (await alerts(ctx.grid, '?kind=face_failed')).filter((a) => a.device_id === termE.id);
  assert.ok(await until(async () => (await mine()).length === 1), 'one face_failed alert');
  await sleep(2500); // more sweeps: no more sends, no second alert
  assert.equal(termE.commands.filter((c) => c.face_id === p.enrolment.id).length, ATTEMPTS);
  assert.equal((await mine()).length, 1);

  // a late ack of the failed command still counts
  termE.ack(sent[0]);
  assert.ok(await until(async () => termState(await detail(p.enrolment.id), termE) === 'holds'));
  assert.equal((await detail(p.enrolment.id)).terminals_failed, 0);
});

test('a failed terminal is retried from the console: pending again, sent at once, acknowledged; bad retries refused', async () => {
  // E still never answers: a new enrolment fails on it
  const p = await consentAndEnrol('冯敏');
  termA.ack(await nextOf(termA, 'enrol', p));
  const url = `/api/v1/face/enrolments/${p.enrolment.id}/retry`;
  // nothing failed yet (A holds it, E pending): refused, nothing changed
  expectError(await ctx.grid.post(url), 409, 'nothing_failed');
  let d;
  assert.ok(await until(async () => termState(d = await detail(p.enrolment.id), termE) === 'enrol_failed', 15000), 'failed on E');
  const onE = async () => (await alerts(ctx.grid, '?kind=face_failed')).filter((a) => a.device_id === termE.id);
  assert.ok(await until(async () => (await onE()).length === 2), "this enrolment's face_failed alert (the test before raised the first)");
  // scope, rights, ids
  expectError(await ctx.gridOther.post(url), 404, 'not_found');
  assert.equal((await ctx.gate.post(url)).status, 403, 'not a face manager');
  assert.equal((await ctx.grid.post('/api/v1/face/enrolments/abc/retry')).status, 404);
  assert.equal(termState(await detail(p.enrolment.id), termE), 'enrol_failed', 'the refusals changed nothing');
  const before = termE.commands.length;
  // the retry: back to pending, attempts start over, sent over the device channel at once
  const r = await ctx.grid.post(url);
  assert.equal(r.status, 200, r.text);
  const t = r.body.terminals.find((x) => x.device_id === termE.id);
  assert.equal(t.state, 'pending_enrol');
  assert.equal(t.state_label, '下发中');
  assert.equal(t.attempts, 1, 'attempts reset, then this send');
  assert.equal(r.body.terminals_failed, 0);
  assert.equal(termState(r.body, termA), 'holds', "A's acknowledged command is untouched");
  assert.ok(await until(async () => termE.commands.length > before), 'E was sent the command again');
  const again = termE.commands.at(-1);
  assert.equal(again.op, 'enrol');
  assert.equal(again.face_id, p.enrolment.id);
  termE.ack(again);
  assert.ok(await until(async () => termState(await detail(p.enrolment.id), termE) === 'holds'), 'acknowledged: E holds it');
  expectError(await ctx.grid.post(url), 409, 'nothing_failed');
  const audit = (await ctx.auditor.get('/api/v1/audit?page_size=50&action=face.retry')).body.items;
  assert.ok(audit.some((e) => e.result === 'ok'), 'the retry is audited');
  assert.ok(audit.some((e) => e.result === 'not_found'), "the refused retry of another community's enrolment too");
});

test('the resend settings are checked at start', () => {
  for (const [k, v] of [['FK_FACE_RESEND_S', '0'], ['FK_FACE_RESEND_S', 'x'], ['FK_FACE_ATTEMPTS', '101'], ['FK_FACE_ATTEMPTS', '0']]) {
    const r = spawnSync(process.env.FK_BIN, ['routes'], { env: { ...process.env, [k]: v }, encoding: 'utf8' });
    assert.notEqual(r.status, 0, `${k}=${v} refused`);
    assert.match(r.stderr, new RegExp(k));
  }
  const ok = spawnSync(process.env.FK_BIN, ['routes'], { env: { ...process.env, FK_FACE_RESEND_S: '60', FK_FACE_ATTEMPTS: '2' }, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
});
