// `fangkong doctor` (src/doctor, docs/operations.md): against one running
// server with a real mosquitto and a certificate, every check passes; then
// each fault is staged on its own (missing key file, key readable by others,
// a corrupt key, an unreachable database, a missing SQLite file, pending and
// too-new migrations, the broker down or refusing the account, the disk
// under its thresholds, an expiring or unreadable certificate, an unknown
// FK_ variable) and the doctor's line says so in Chinese, with exit status
// 2 for a failure and 1 for a warning. The NTP line depends on the machine
// (a container is often unsynchronised): the exit status is checked against
// the worst line printed, not against a fixed 0.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { BIN, startServer, sleep, sqlRun, onPostgres } from './lib.mjs';

let ctx, broker, brokerPort, certOk;
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

// A self-signed certificate valid for `days` days (openssl, as an operator
// would test one), in the server's folder.
function cert(name, days) {
  const file = path.join(ctx.dir, `${name}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-keyout', path.join(ctx.dir, `${name}.key`), '-out', file, '-days', String(days),
    '-subj', '/CN=fangkong.test'], { stdio: 'pipe' });
  return file;
}

// Run the doctor with the server's configuration plus `env` (a value of
// null removes the variable); its lines parsed as {level, name, text}.
function doctor(env = {}, args = []) {
  const e = { ...ctx.env, FK_DISK_WARN_PCT: '0', FK_DISK_FAIL_PCT: '0', FK_TLS_CERT: certOk };
  delete e.FK_BIN; // the test runner's, not the server's
  delete e.FK_SAN; // the same (set for the sanitizer pass)
  for (const [k, v] of Object.entries(env)) {
    if (v === null) delete e[k];
    else e[k] = v;
  }
  const r = spawnSync(BIN, ['doctor', ...args], { env: e, encoding: 'utf8', timeout: 30000 });
  if (/(AddressSanitizer|LeakSanitizer|runtime error:)/.test(r.stderr)) throw new Error(r.stderr);
  const lines = r.stdout.trim().split('\n').filter(Boolean).map((l) => {
    const m = /^(正常|警告|失败)\s+(\S+(?: 代理| 证书)?)\s+(.*)$/.exec(l);
    assert.ok(m, `a doctor line: ${l}`);
    return { level: m[1], name: m[2], text: m[3] };
  });
  const worst = lines.some((l) => l.level === '失败') ? 2 : lines.some((l) => l.level === '警告') ? 1 : 0;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines, worst };
}

const find = (r, name) => {
  const l = r.lines.filter((x) => x.name === name);
  assert.ok(l.length, `a ${name} line in:\n${r.stdout}`);
  return l;
};
const one = (r, name, level, re) => {
  const l = find(r, name).find((x) => x.level === level && re.test(x.text));
  assert.ok(l, `${name} ${level} ${re} in:\n${r.stdout}${r.stderr}`);
  assert.equal(r.status, r.worst, 'the exit status is the worst line');
  return l;
};

before(async () => {
  brokerPort = await freePort();
  ctx = await startServer({
    env: { FK_MQTT_URL: `mqtt://${SERVER_USER}:${SERVER_PASS}@127.0.0.1:${brokerPort}` },
    setup: async (c) => {
      const dir = path.join(c.dir, 'broker');
      c.must(['devices', 'broker-config', dir]);
      broker = spawn('mosquitto', ['-c', path.join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
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
  certOk = cert('good', 365);
});

after(async () => {
  await ctx?.stop();
  broker?.kill('SIGTERM');
});

test('every check passes on a healthy installation, in Chinese by default', () => {
  const r = doctor();
  one(r, '配置', '正常', /均可识别/);
  one(r, '主密钥', '正常', /权限 0600，已加载/);
  one(r, '数据库', '正常', onPostgres ? /PostgreSQL 可连接/ : /SQLite 可连接/);
  one(r, '迁移', '正常', /已是最新/);
  if (onPostgres) {
    one(r, '数据库角色', '正常', /主库，0 个备库/);
    one(r, '时钟', '正常', /与数据库服务器相差 -?0\.\d+ 秒/);
  } else {
    one(r, '数据库文件', '正常', /WAL 模式，文件系统/);
  }
  one(r, '磁盘', '正常', /数据目录剩余 .* GiB/);
  find(r, '时间同步'); // synchronised or not, as the machine is
  one(r, 'MQTT 代理', '正常', /连接并断开成功/);
  one(r, 'TLS 证书', '正常', /剩余 36[45] 天到期/);
  assert.ok(r.status <= 1, 'nothing fails: ' + r.stdout);
});

test('--lang en and --lang both answer in English, or in both', () => {
  const en = spawnSync(BIN, ['doctor', '--lang', 'en'], { env: { ...ctx.env, FK_BIN: '' }, encoding: 'utf8' });
  assert.match(en.stdout, /^ok\s+key\s+.* mode 0600, loads$/m);
  assert.match(en.stdout, /^ok\s+migrations\s+up to date/m);
  assert.doesNotMatch(en.stdout, /正常|已加载/);
  const both = spawnSync(BIN, ['doctor', '--lang', 'both'], { env: ctx.env, encoding: 'utf8' });
  assert.match(both.stdout, /^正常 ok\s+主密钥\s+key\s+.*已加载 \| .*loads$/m);
  for (const bad of [['--lang', 'fr'], ['--lang'], ['--verbose']]) {
    const r = spawnSync(BIN, ['doctor', ...bad], { env: ctx.env, encoding: 'utf8' });
    assert.equal(r.status, 2, bad.join(' '));
    assert.equal(r.stdout, '', 'no check runs on a usage error');
  }
});

test('the key file: missing, readable by others, corrupt', () => {
  const keyFile = path.join(ctx.dir, 'keys', 'master.key');
  let r = doctor({ FK_KEY_FILE: path.join(ctx.dir, 'keys', 'gone.key') });
  one(r, '主密钥', '失败', /主密钥文件 .*gone\.key 不存在：从密钥备份恢复/);
  assert.equal(r.status, 2);
  const open = path.join(ctx.dir, 'open.key');
  fs.copyFileSync(keyFile, open);
  fs.chmodSync(open, 0o644);
  r = doctor({ FK_KEY_FILE: open });
  one(r, '主密钥', '失败', /权限为 0644，过宽：应为 0600 或 0400/);
  fs.chmodSync(open, 0o400); // read-only for its owner is fine
  one(doctor({ FK_KEY_FILE: open }), '主密钥', '正常', /权限 0400，已加载/);
  const bad = path.join(ctx.dir, 'bad.key');
  fs.writeFileSync(bad, 'not a key\n', { mode: 0o600 });
  r = doctor({ FK_KEY_FILE: bad });
  one(r, '主密钥', '失败', /无法加载: 主密钥文件格式错误/);
  assert.equal(r.status, 2);
});

test('the database: unreachable PostgreSQL, a missing SQLite file', () => {
  let r = doctor({ FK_DB: 'postgres://nobody@127.0.0.1:1/none' });
  one(r, '数据库', '失败', /无法连接数据库 \(PostgreSQL\)/);
  assert.equal(r.status, 2);
  assert.ok(!r.lines.some((l) => l.name === '迁移'), 'no migration check without a database');
  r = doctor({ FK_DB: path.join(ctx.dir, 'absent', 'fangkong.db') });
  one(r, '数据库', '失败', /数据库文件 .* 不存在：先运行 fangkong init/);
  assert.ok(!fs.existsSync(path.join(ctx.dir, 'absent')), 'the doctor created nothing');
});

test('migrations: one pending warns, a database newer than the program fails', () => {
  const newest = Number(sqlRun(ctx, 'SELECT MAX(version) FROM schema_migrations').trim());
  const row = sqlRun(ctx, `SELECT name, applied_at FROM schema_migrations WHERE version = ${newest}`).trim().split('|');
  sqlRun(ctx, `DELETE FROM schema_migrations WHERE version = ${newest}`);
  try {
    one(doctor(), '迁移', '警告', /^1 个迁移待执行/);
  } finally {
    sqlRun(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (${newest}, '${row[0]}', ${row[1]})`);
  }
  sqlRun(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future', 0)`);
  try {
    const r = doctor();
    one(r, '迁移', '失败', /数据库已迁移到 9999，比本程序 \(\d+\) 新/);
    assert.equal(r.status, 2);
  } finally {
    sqlRun(ctx, 'DELETE FROM schema_migrations WHERE version = 9999');
  }
  one(doctor(), '迁移', '正常', /已是最新/);
});

test('the broker: down, or refusing the account', async () => {
  const closed = await freePort();
  let r = doctor({ FK_MQTT_URL: `mqtt://${SERVER_USER}:${SERVER_PASS}@127.0.0.1:${closed}` });
  one(r, 'MQTT 代理', '失败', /MQTT 代理不可用/);
  assert.equal(r.status, 2);
  r = doctor({ FK_MQTT_URL: `mqtt://${SERVER_USER}:wrong@127.0.0.1:${brokerPort}` });
  one(r, 'MQTT 代理', '失败', /MQTT 代理不可用: .*(not authori[sz]ed|bad user name or password)/i);
  one(doctor({ FK_MQTT_URL: 'http://not-mqtt' }), 'MQTT 代理', '失败', /./);
  one(doctor({ FK_MQTT_URL: null }), 'MQTT 代理', '正常', /未配置/);
});

test('the disk: under the warning line, under the failure line, bad thresholds', () => {
  // thresholds of 100% free stage a full-ish disk on any machine
  let r = doctor({ FK_DISK_WARN_PCT: '100', FK_DISK_FAIL_PCT: '0' });
  one(r, '磁盘', '警告', /警告线 100%，失败线 0%/);
  r = doctor({ FK_DISK_WARN_PCT: '100', FK_DISK_FAIL_PCT: '100' });
  one(r, '磁盘', '失败', /失败线 100%/);
  assert.equal(r.status, 2);
  for (const v of ['abc', '-1', '101', '5%']) {
    r = doctor({ FK_DISK_WARN_PCT: v });
    one(r, '配置', '失败', /FK_DISK_WARN_PCT 应为 0 到 100 的整数/);
    assert.ok(!r.lines.some((l) => l.name === '磁盘'), 'no disk verdict on a bad threshold');
  }
  r = doctor({ FK_DISK_WARN_PCT: '5', FK_DISK_FAIL_PCT: '10' });
  one(r, '配置', '失败', /FK_DISK_FAIL_PCT 不应大于 FK_DISK_WARN_PCT/);
});

test('the certificate: expiring within a week fails, within a month warns, unreadable fails', () => {
  one(doctor({ FK_TLS_CERT: cert('soon', 3) }), 'TLS 证书', '失败', /剩余 [23] 天到期/);
  one(doctor({ FK_TLS_CERT: cert('month', 20) }), 'TLS 证书', '警告', /剩余 (19|20) 天到期/);
  const junk = path.join(ctx.dir, 'junk.pem');
  fs.writeFileSync(junk, 'not a certificate');
  one(doctor({ FK_TLS_CERT: junk }), 'TLS 证书', '失败', /不是 PEM 格式的 X\.509 证书/);
  one(doctor({ FK_TLS_CERT: path.join(ctx.dir, 'none.pem') }), 'TLS 证书', '失败', /无法读取证书文件/);
  one(doctor({ FK_TLS_CERT: null }), 'TLS 证书', '正常', /未配置/);
});

test('configuration: an unknown FK_ variable is named, a near miss gets a suggestion, a bad value fails', () => {
  let r = doctor({ FK_DISK_WARNPCT: '3' });
  one(r, '配置', '警告', /未知变量 FK_DISK_WARNPCT，程序不读取（是否应为 FK_DISK_WARN_PCT？）/);
  r = doctor({ FK_ZZZ_SOMETHING_ELSE: '1' });
  one(r, '配置', '警告', /^未知变量 FK_ZZZ_SOMETHING_ELSE，程序不读取$/);
  // every variable of the server's own environment is known (positive control)
  r = doctor({ FK_SESSION_IDLE: '600', FK_SCAN_QUEUE: '100' });
  one(r, '配置', '正常', /已设置 \d+ 个 FK_ 变量，均可识别/);
  r = doctor({ FK_PORT: 'eighty' });
  one(r, '配置', '失败', /配置无效/);
  assert.match(r.stderr, /FK_PORT must be a number/);
  assert.equal(r.status, 2);
});
