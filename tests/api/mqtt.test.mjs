// MQTT against a real mosquitto on loopback: the broker runs with the
// password and ACL files `fangkong devices broker-config` generates from the
// device registry (rewritten and reloaded by SIGHUP when devices change);
// devices publish with mosquitto_pub. A reading arrives and raises a fever
// alert; wrong credentials are refused by the broker; a device publishing
// under another device's topic is refused by the ACL; a malformed payload is
// counted in /metrics and changes nothing; a silent device raises
// device_silent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { sleep } from './lib.mjs';
import { startCity, alerts, metric } from './devlib.mjs';

let ctx, broker, brokerPort, brokerLog = '';
const SERVER_USER = 'fangkong-server';
const SERVER_PASS = 'srv-' + Math.random().toString(36).slice(2);

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  brokerPort = await freePort();
  ctx = await startCity({
    env: {
      FK_MQTT_URL: `mqtt://${SERVER_USER}:${SERVER_PASS}@127.0.0.1:${brokerPort}`,
      FK_DEVICE_CHECK: '1',
    },
    setup: async (c) => {
      const dir = path.join(c.dir, 'broker');
      c.env.FK_MQTT_BROKER_DIR = dir;
      const out = c.must(['devices', 'broker-config', dir]);
      assert.match(out, /mosquitto\.conf/);
      broker = spawn('mosquitto', ['-c', path.join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
      broker.stderr.on('data', (d) => { brokerLog += d; });
      for (let i = 0; i < 100; i++) {
        const ok = await new Promise((res) => {
          const s = net.connect(brokerPort, '127.0.0.1', () => { s.end(); res(true); });
          s.on('error', () => res(false));
        });
        if (ok) break;
        await sleep(50);
      }
    },
  });
  // the subscriber connects in its own thread
  for (let i = 0; i < 100 && !/mqtt_connected/.test(ctx.stderr); i++) await sleep(50);
  assert.match(ctx.stderr, /mqtt_connected/, 'the server subscribed: ' + ctx.stderr.slice(-2000) + brokerLog);
});

after(async () => {
  await ctx?.stop();
  broker?.kill('SIGTERM');
});

async function newDevice(body = {}) {
  const r = await ctx.cc.post('/api/v1/devices', { name: 'MQTT测温仪', kind: 'thermometer', venue_id: ctx.venue.id, heartbeat_s: 60, ...body });
  assert.equal(r.status, 201, r.text);
  await sleep(300); // the broker reloads its files on SIGHUP
  return r.body;
}

function pub(user, pass, topic, message) {
  const r = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(brokerPort), '-u', user, '-P', pass,
    '-t', topic, '-m', message, '-q', '1', '-i', 'dev-' + Math.random().toString(36).slice(2)], { encoding: 'utf8', timeout: 10000 });
  return { status: r.status, out: (r.stdout || '') + (r.stderr || '') };
}

async function readingsOf(id) {
  return (await ctx.cc.get(`/api/v1/devices/${id}`)).body.readings;
}

async function until(pred, ms = 8000) {
  for (let t = 0; t < ms; t += 100) {
    if (await pred()) return true;
    await sleep(100);
  }
  return false;
}

test('a reading published by a device arrives and raises a fever alert', async () => {
  const d = await newDevice();
  const r = pub(d.mqtt.username, d.mqtt.password, d.mqtt.readings_topic, JSON.stringify({ temperature: 38.6 }));
  assert.equal(r.status, 0, r.out);
  assert.ok(await until(async () => (await readingsOf(d.id)) === 1), 'the reading was stored');
  const a = (await alerts(ctx.grid, '?kind=device_fever')).find((x) => x.device_id === d.id);
  assert.ok(a, 'device_fever alert');
  assert.match(a.message, /38\.6/);
  assert.equal(a.detail.via, 'mqtt');
});

test('wrong credentials are refused by the broker', async () => {
  const d = await newDevice();
  const r = pub(d.mqtt.username, '0'.repeat(48), d.mqtt.readings_topic, JSON.stringify({ temperature: 39 }));
  assert.notEqual(r.status, 0, 'mosquitto_pub fails: ' + r.out);
  assert.match(r.out, /not authori[sz]ed|refused/i);
  const u = pub('123456', d.mqtt.password, d.mqtt.readings_topic, JSON.stringify({ temperature: 39 }));
  assert.notEqual(u.status, 0, 'an unknown device is refused: ' + u.out);
  await sleep(500);
  assert.equal(await readingsOf(d.id), 0);
});

test("a device publishing under another device's topic is refused by the ACL", async () => {
  const a = await newDevice({ name: '甲' });
  const b = await newDevice({ name: '乙' });
  pub(a.mqtt.username, a.mqtt.password, b.mqtt.readings_topic, JSON.stringify({ temperature: 39.5 }));
  // a's own message afterwards proves the broker delivered what it accepted
  assert.equal(pub(a.mqtt.username, a.mqtt.password, a.mqtt.readings_topic, JSON.stringify({ temperature: 36.5 })).status, 0);
  assert.ok(await until(async () => (await readingsOf(a.id)) === 1));
  assert.equal(await readingsOf(b.id), 0, "nothing arrived under b's id");
  assert.ok(!(await alerts(ctx.grid, '?kind=device_fever')).some((x) => x.device_id === b.id));
});

test('a malformed payload is counted in /metrics and changes nothing', async () => {
  const d = await newDevice();
  const before = await metric(ctx, 'fangkong_device_refused_total{reason="malformed"}');
  for (const bad of ['not json', '{"temperature":"hot"}', '{"temperature":36.5,"x":1}', '[]', '{"temperature":99}'])
    assert.equal(pub(d.mqtt.username, d.mqtt.password, d.mqtt.readings_topic, bad).status, 0);
  assert.ok(await until(async () => (await metric(ctx, 'fangkong_device_refused_total{reason="malformed"}')) === before + 5),
    'five refusals counted');
  assert.equal(await readingsOf(d.id), 0);
  assert.equal(ctx.proc.exitCode, null, 'the server is still running');
});

test('a silent device raises device_silent; its heartbeat clears the silence', async () => {
  const d = await newDevice({ name: '心跳测温仪', heartbeat_s: 5 });
  assert.equal(pub(d.mqtt.username, d.mqtt.password, `fk/devices/${d.id}/heartbeat`, '{}').status, 0);
  const silent = async () => (await alerts(ctx.grid, '?kind=device_silent')).filter((x) => x.device_id === d.id);
  assert.ok(await until(async () => (await silent()).length === 1, 12000), 'device_silent raised');
  assert.equal((await ctx.cc.get(`/api/v1/devices/${d.id}`)).body.status, 'silent');
  assert.equal(pub(d.mqtt.username, d.mqtt.password, `fk/devices/${d.id}/heartbeat`, '').status, 0);
  assert.ok(await until(async () => (await ctx.cc.get(`/api/v1/devices/${d.id}`)).body.status === 'online'));
});
