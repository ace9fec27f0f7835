// Device messages across servers (docs/cluster.md, "MQTT"): every server
// subscribes through the shared subscription $share/fangkong/…, so the
// broker hands each message to one server of the group.
//
// Every driver: one server alone is the whole group and stores every
// reading a device publishes (as before shared subscriptions); a bad
// FK_MQTT_GROUP stops the server at start.
// PostgreSQL: a second server on the same database and broker; a device
// publishes K readings: the database holds exactly K (none twice) and both
// servers handled some (fangkong_mqtt_received_total of each); the first
// server is SIGKILLed and the next K all reach the other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startPeer, onPostgres, sqlRun, until, BIN } from './lib.mjs';
import { startFaceCity } from './facelib.mjs';

const K = 24;
let f, ctx, peer, dev, at0 = Date.now() - 3600000;

before(async () => {
  f = await startFaceCity({ FK_NODE: '1' });
  ctx = f.ctx;
  const r = await ctx.cc.post('/api/v1/devices', { name: '集群测温仪', kind: 'thermometer', venue_id: ctx.venue.id, heartbeat_s: 60 });
  assert.equal(r.status, 201, r.text);
  dev = r.body;
  // the broker reloads its password file on SIGHUP: wait until it takes the device
  assert.ok(await until(() => pub([{ temperature: 36.5, at: at0++ }]).status === 0, 3000), 'the broker knows the device');
});

after(async () => {
  if (peer?.proc && peer.proc.exitCode === null && peer.proc.signalCode === null) await peer.stop();
  await f?.stop();
});

// Publish the readings as one device session (QoS 1, one message a line).
function pub(readings) {
  const r = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(f.port), '-u', dev.mqtt.username, '-P', dev.mqtt.password,
    '-t', dev.mqtt.readings_topic, '-q', '1', '-l', '-i', 'dev-' + Math.random().toString(36).slice(2)],
  { input: readings.map((x) => JSON.stringify(x)).join('\n') + '\n', encoding: 'utf8', timeout: 10000 });
  return { status: r.status, out: (r.stdout || '') + (r.stderr || '') };
}

const batch = (n) => Array.from({ length: n }, () => ({ temperature: 36.6, at: at0++ }));

// [rows, distinct reading times] of the device's stored readings
const stored = () => sqlRun(ctx, `SELECT COUNT(*), COUNT(DISTINCT at) FROM device_readings WHERE device_id = ${dev.id}`).trim().split('|').map(Number);

async function received(srv) {
  const text = await (await fetch(srv.url + '/metrics')).text();
  return Number(/^fangkong_mqtt_received_total\{reason="readings"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

test('one server alone is the whole group: it stores every reading once', async () => {
  const [n0] = stored();
  assert.equal(n0, 1, 'the reading of `before`');
  assert.equal(pub(batch(K)).status, 0);
  assert.ok(await until(() => stored()[0] >= 1 + K, 8000), 'all arrived: ' + stored());
  assert.deepEqual(stored(), [1 + K, 1 + K]);
  assert.equal(await received(ctx), 1 + K);
  assert.match(ctx.stderr, /mqtt_connected/);
});

test('a group name with a topic wildcard stops the server at start', () => {
  const r = spawnSync(BIN, ['serve'], { env: { ...ctx.env, FK_PORT: String(ctx.port), FK_MQTT_GROUP: 'a/b' }, encoding: 'utf8', timeout: 10000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /invalid_mqtt_group|FK_MQTT_GROUP/);
});

test('two servers on one broker: each reading stored once, both servers handle some', async (t) => {
  if (!onPostgres) return t.skip('PostgreSQL only (one SQLite file has one server)');
  peer = await startPeer(ctx, { FK_NODE: '2' });
  assert.ok(await until(() => /mqtt_connected/.test(peer.stderr), 5000), 'the peer subscribed');
  const [n0] = stored();
  const a0 = await received(ctx);
  assert.equal(pub(batch(K)).status, 0);
  assert.ok(await until(() => stored()[0] >= n0 + K, 8000), 'all arrived: ' + stored());
  // a late duplicate would land after the K: give it the time one took
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(stored(), [n0 + K, n0 + K], 'exactly K more, none twice');
  const a = (await received(ctx)) - a0, b = await received(peer);
  assert.equal(a + b, K, `the servers' counts add up: ${a} + ${b}`);
  assert.ok(a > 0 && b > 0, `each server handled some: ${a} + ${b}`);
});

test('the other server receives everything once one is SIGKILLed', async (t) => {
  if (!onPostgres) return t.skip('PostgreSQL only');
  const gone = new Promise((r) => ctx.proc.on('exit', r));
  ctx.proc.kill('SIGKILL');
  await gone;
  const [n0] = stored();
  const b0 = await received(peer);
  assert.equal(pub(batch(K)).status, 0);
  assert.ok(await until(() => stored()[0] >= n0 + K, 8000), 'all arrived at the peer: ' + stored());
  assert.deepEqual(stored(), [n0 + K, n0 + K]);
  assert.equal((await received(peer)) - b0, K, 'all through the peer');
});
