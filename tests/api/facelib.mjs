// Fixtures of the face suites (docs/face.md): a city with a real mosquitto
// on loopback whose files the server writes, and fake face terminals, each
// an MQTT client with the credentials the registry issued (mosquitto_sub
// for its commands, mosquitto_pub for its acks, passages and heartbeats).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { sleep } from './lib.mjs';
import { startCity } from './devlib.mjs';

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function until(pred, ms = 8000) {
  for (let t = 0; t < ms; t += 100) {
    if (await pred()) return true;
    await sleep(100);
  }
  return false;
}

// startCity with the broker; env adds to the server's environment.
// f.stop() ends the terminals, the server and the broker.
export async function startFaceCity(env = {}) {
  const f = { subs: [] };
  const port = await freePort();
  const user = 'fangkong-server', pass = 'srv-' + Math.random().toString(36).slice(2);
  f.port = port;
  f.ctx = await startCity({
    env: { FK_MQTT_URL: `mqtt://${user}:${pass}@127.0.0.1:${port}`, ...env },
    setup: async (c) => {
      const dir = path.join(c.dir, 'broker');
      c.env.FK_MQTT_BROKER_DIR = dir;
      c.must(['devices', 'broker-config', dir]);
      f.broker = spawn('mosquitto', ['-c', path.join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
      for (let i = 0; i < 100; i++) {
        const ok = await new Promise((res) => {
          const s = net.connect(port, '127.0.0.1', () => { s.end(); res(true); });
          s.on('error', () => res(false));
        });
        if (ok) break;
        await sleep(50);
      }
    },
  });
  for (let i = 0; i < 100 && !/mqtt_connected/.test(f.ctx.stderr); i++) await sleep(50);
  assert.match(f.ctx.stderr, /mqtt_connected/);
  f.terminal = (venue, name, extra = {}) => terminal(f, venue, name, extra);
  f.stop = async () => {
    if (process.env.FACE_DEBUG) console.log(f.ctx?.stderr.split('\n').filter((l) => /face|device|mqtt/.test(l)).slice(-40).join('\n'));
    for (const s of f.subs) s.kill('SIGTERM');
    await f.ctx?.stop();
    f.broker?.kill('SIGTERM');
  };
  return f;
}

// A fake face terminal: registered, listening to its commands (when online).
async function terminal(f, venue, name, extra) {
  const r = await f.ctx.cc.post('/api/v1/devices', { name, kind: 'face', venue_id: venue.id, heartbeat_s: 60, ...extra });
  assert.equal(r.status, 201, r.text);
  await sleep(300); // the broker reloads its files on SIGHUP
  const t = { ...r.body, commands: [], sub: null };
  t.online = async () => {
    const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(f.port), '-u', t.mqtt.username, '-P', t.mqtt.password,
      '-t', `fk/devices/${t.id}/commands`, '-q', '1', '-i', 'term-' + Math.random().toString(36).slice(2)], { stdio: ['ignore', 'pipe', 'pipe'] });
    f.subs.push(sub);
    let buf = '';
    sub.stdout.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        t.commands.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    });
    t.sub = sub;
    await sleep(400); // subscribed
  };
  t.offline = () => { t.sub?.kill('SIGTERM'); t.sub = null; };
  t.pub = (topic, msg) => {
    const p = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(f.port), '-u', t.mqtt.username, '-P', t.mqtt.password,
      '-t', `fk/devices/${t.id}/${topic}`, '-m', typeof msg === 'string' ? msg : JSON.stringify(msg), '-q', '1'], { encoding: 'utf8', timeout: 10000 });
    assert.equal(p.status, 0, p.stderr);
  };
  // heard from (a heartbeat) until the platform sends op again: it resends at most once a second
  t.heardUntil = async (op) => {
    assert.ok(await until(async () => {
      t.pub('heartbeat', '{}');
      await sleep(200);
      return t.commands.some((c) => c.op === op);
    }), `${name} was sent a ${op} again`);
    return t.next(op);
  };
  t.ack = (cmd) => t.pub('acks', { command_id: cmd.command_id, ok: true });
  t.next = async (op) => {
    assert.ok(await until(async () => t.commands.some((c) => c.op === op)), `${name} got a ${op} command`);
    const i = t.commands.findIndex((c) => c.op === op);
    return t.commands.splice(i, 1)[0];
  };
  return t;
}

export function image(head, size) {
  const b = Buffer.alloc(size, 0x5a);
  Buffer.from(head).copy(b, 0);
  return b;
}
export const JPEG = [0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1];

export async function upload(c, body, type) {
  const r = await c.post('/api/v1/attachments', body, { 'content-type': type });
  assert.equal(r.status, 201, r.text);
  return r.body.id;
}
