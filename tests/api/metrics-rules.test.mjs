// The operators' side of /metrics and the files of deploy/: the gauges the
// alert rules need (writer queues, disk, certificate, MQTT link, on
// PostgreSQL the replication lag and standbys) are emitted with values that
// match the machine; every fangkong_* series and label value that
// deploy/prometheus/fangkong-rules.yml uses is one /metrics really emits
// (read with a small reader of the YAML subset the file is written in);
// every alert has a Chinese summary; and the log rotation's choice
// (copytruncate, because the server writes its log to stderr, which
// systemd appends to the file when one is configured) keeps the file clean:
// after a truncation the next line lands at its start, where a file not
// opened for appending would leave a hole of NUL bytes (the control).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BIN, startServer, onPostgres, until } from './lib.mjs';

const RULES = path.resolve('deploy/prometheus/fangkong-rules.yml');
let ctx, text;

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// The series of a metrics text: [{name, labels: {k: v}, value}].
function series(body) {
  return body.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
    assert.ok(m, 'a metrics line: ' + l);
    const labels = {};
    for (const p of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[p[1]] = p[2];
    return { name: m[1], labels, value: Number(m[3]) };
  });
}
const value = (all, name, labels = {}) => {
  const s = all.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
};

// The alert rules of a rules file, read as the subset of YAML it is written
// in: "- alert: NAME", "expr: one line" or "expr: |" followed by a block
// more indented, and "summary: "…"" under annotations.
export function readRules(yamlText) {
  const lines = yamlText.split('\n');
  const rules = [];
  for (let i = 0; i < lines.length; i++) {
    const a = /^\s*- alert:\s*(\S+)\s*$/.exec(lines[i]);
    if (a) { rules.push({ alert: a[1], expr: '', summary: '' }); continue; }
    const rule = rules[rules.length - 1];
    const e = /^(\s*)expr:\s*(.*)$/.exec(lines[i]);
    if (e && rule) {
      if (e[2].trim() === '|') {
        const indent = e[1].length;
        const block = [];
        while (i + 1 < lines.length && (lines[i + 1].trim() === '' || /^\s*/.exec(lines[i + 1])[0].length > indent)) block.push(lines[++i].trim());
        rule.expr = block.join(' ').trim();
      } else {
        rule.expr = e[2].trim();
      }
      continue;
    }
    const s = /^\s*summary:\s*"(.*)"\s*$/.exec(lines[i]);
    if (s && rule) rule.summary = s[1];
  }
  return rules;
}

// The selectors of a PromQL expression: metric names with their equality
// matchers (name{k="v",…}); functions, keywords and label names in by()
// are not metric names.
const PROMQL_WORDS = new Set(['sum', 'by', 'rate', 'histogram_quantile', 'or', 'and', 'unless', 'on', 'max', 'min', 'avg', 'without', 'le', 'instance', 'count', 'increase']);
function selectors(expr) {
  const out = [];
  // matchers and range durations ([5m]) blanked, keeping the offsets
  const noStrings = expr.replace(/\{[^}]*\}|\[[^\]]*\]/g, (m) => ' '.repeat(m.length));
  for (const m of noStrings.matchAll(/[a-zA-Z_][a-zA-Z0-9_]*/g)) {
    const name = m[0];
    if (PROMQL_WORDS.has(name)) continue;
    if (expr[m.index + name.length] === '(') continue; // a function
    // inside by (...): label names
    const before = expr.slice(0, m.index);
    if (/by\s*\([^)]*$/.test(before)) continue;
    const rest = expr.slice(m.index + name.length);
    const brace = /^\{([^}]*)\}/.exec(rest);
    const eq = {};
    for (const p of (brace?.[1] || '').matchAll(/(\w+)\s*=\s*"([^"]*)"/g)) eq[p[1]] = p[2];
    out.push({ name, eq });
  }
  return out;
}

// What a rule uses that the metrics do not emit: ["name{k=v}"…]. `up` is
// Prometheus's own series about the scrape.
function missing(rules, all) {
  const gaps = [];
  for (const r of rules) {
    for (const s of selectors(r.expr)) {
      if (s.name === 'up') continue;
      const found = all.some((x) => x.name === s.name && Object.entries(s.eq).every(([k, v]) => x.labels[k] === v));
      if (!found) gaps.push(`${r.alert}: ${s.name}${JSON.stringify(s.eq)}`);
    }
  }
  return gaps;
}

before(async () => {
  const closed = await freePort();
  ctx = await startServer({
    env: {
      // a broker that is not there: the link gauge says 0
      FK_MQTT_URL: `mqtt://fangkong-server:x@127.0.0.1:${closed}`,
    },
    setup: async (c) => {
      const cert = path.join(c.dir, 'tls.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', path.join(c.dir, 'tls.key'), '-out', cert, '-days', '90', '-subj', '/CN=fangkong.test'], { stdio: 'pipe' });
      c.env.FK_TLS_CERT = cert;
    },
  });
  // one request of each kind the rules divide (a 2xx; a 5xx is not stageable
  // without breaking something, so the error-rate rule's selector is checked
  // against the 2xx series of the same family)
  const r = await fetch(`${ctx.url}/healthz`);
  assert.equal(r.status, 200);
  text = await (await fetch(`${ctx.url}/metrics`)).text();
});

after(async () => {
  await ctx?.stop();
});

test('the operators\' gauges are emitted with the machine\'s values', () => {
  const all = series(text);
  for (const w of ['access', 'audit', 'code']) {
    const v = value(all, 'fangkong_writer_queue_depth', { writer: w });
    assert.ok(v !== undefined && v >= 0 && v < 1000, `${w} queue depth ${v}`);
  }
  const st = fs.statfsSync(ctx.dir);
  const free = value(all, 'fangkong_disk_free_bytes');
  const size = value(all, 'fangkong_disk_size_bytes');
  assert.equal(size, st.blocks * st.bsize, 'the data folder\'s filesystem size');
  assert.ok(Math.abs(free - st.bavail * st.bsize) < 256 * 1024 * 1024, `free ${free} against ${st.bavail * st.bsize}`);
  const ratio = value(all, 'fangkong_disk_free_ratio');
  assert.ok(Math.abs(ratio - free / size) < 0.01, `ratio ${ratio}`);
  const cert = value(all, 'fangkong_tls_cert_expiry_seconds');
  assert.ok(cert > 89 * 86400 && cert <= 90 * 86400, `certificate expiry ${cert}`);
  assert.equal(value(all, 'fangkong_mqtt_connected'), 0, 'the broker is not there');
  if (onPostgres) {
    assert.equal(value(all, 'fangkong_pg_replication_lag_seconds', { role: 'primary' }), 0);
    assert.equal(value(all, 'fangkong_pg_standbys'), 0, 'a lone primary');
    assert.equal(value(all, 'fangkong_pg_replication_lag_seconds', { role: 'standby' }), undefined);
  } else {
    assert.ok(!all.some((x) => x.name.startsWith('fangkong_pg_')), 'no replication on SQLite');
  }
  // one HELP and TYPE per family, gauges typed as such
  assert.equal(text.match(/^# TYPE fangkong_writer_queue_depth gauge$/gm)?.length, 1);
});

test('the certificate gauge follows a renewal at the next scrape', async () => {
  // the certificate is read at every scrape: a renewed one shows at once
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(ctx.dir, 'tls.key'), '-out', ctx.env.FK_TLS_CERT, '-days', '400', '-subj', '/CN=fangkong.test'], { stdio: 'pipe' });
  const all = series(await (await fetch(`${ctx.url}/metrics`)).text());
  assert.ok(value(all, 'fangkong_tls_cert_expiry_seconds') > 399 * 86400);
});

test('every series the alert rules use is one /metrics emits', (t) => {
  const rules = readRules(fs.readFileSync(RULES, 'utf8'));
  const names = rules.map((r) => r.alert);
  for (const want of ['FangkongDown', 'FangkongHighErrorRate', 'FangkongHighLatency', 'FangkongWriterQueueHigh',
    'FangkongReplicationLag', 'FangkongDiskLow', 'FangkongCertificateExpiring']) assert.ok(names.includes(want), want);
  for (const r of rules) {
    assert.ok(r.expr.length > 5, `${r.alert} has an expression`);
    assert.match(r.summary, /[\u4e00-\u9fff]/, `${r.alert}'s summary is Chinese`);
  }
  const all = series(text);
  // the reader and the check catch a rule on a series nobody emits (control)
  const bogus = readRules('groups:\n  - rules:\n      - alert: X\n        expr: |\n          fangkong_nothing_total > 1\n            or fangkong_writer_queue_depth{writer="nobody"} > 1\n');
  assert.deepEqual(missing(bogus, all), ['X: fangkong_nothing_total{}', 'X: fangkong_writer_queue_depth{"writer":"nobody"}']);
  const used = new Set(rules.flatMap((r) => selectors(r.expr).map((s) => s.name)));
  for (const n of ['fangkong_requests_total', 'fangkong_request_duration_seconds_bucket', 'fangkong_writer_queue_depth',
    'fangkong_disk_free_ratio', 'fangkong_tls_cert_expiry_seconds', 'fangkong_pg_replication_lag_seconds']) assert.ok(used.has(n), n);
  const gaps = missing(rules, all);
  if (!onPostgres) {
    // the replication series exist only on PostgreSQL: checked in that pass
    assert.deepEqual(gaps.filter((g) => !/fangkong_pg_/.test(g)), []);
    t.diagnostic('replication series checked in the PostgreSQL pass');
  } else {
    assert.deepEqual(gaps.filter((g) => !/role":"standby/.test(g)), [], 'a primary emits every series but the standby\'s lag');
  }
});

test('log rotation: copytruncate on an appended log leaves no hole; a file not appended would (control)', async (t) => {
  if (onPostgres) return t.skip('driver-independent: runs in the SQLite pass');
  const conf = fs.readFileSync('deploy/logrotate/fangkong', 'utf8');
  assert.match(conf, /^\s*copytruncate\s*$/m, 'the server cannot reopen its log: copytruncate');
  assert.doesNotMatch(conf.replace(/^\s*#.*$/gm, ''), /kill|HUP|postrotate/, 'SIGHUP would stop the server (it has no handler)');
  const unit = fs.readFileSync('deploy/systemd/fangkong.service', 'utf8');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-logrot-'));
  try {
    const env = { ...process.env, FK_DATA_DIR: dir, FK_PASSWORD_MEMORY_KIB: '64', FK_PASSWORD_PASSES: '1' };
    delete env.FK_DB;
    execFileSync(BIN, ['init'], { env, stdio: 'pipe' });
    for (const [flags, clean] of [['a', true], ['w', false]]) {
      const log = path.join(dir, `fangkong-${flags}.log`);
      const fd = fs.openSync(log, flags); // 'a': O_APPEND, as systemd's StandardError=append:
      const port = await freePort();
      const p = spawn(BIN, ['serve'], { env: { ...env, FK_PORT: String(port) }, stdio: ['ignore', 'ignore', fd] });
      fs.closeSync(fd);
      assert.ok(await until(() => /"listening"/.test(fs.readFileSync(log, 'utf8')), 20000), 'the server started');
      fs.truncateSync(log, 0); // what logrotate's copytruncate does after its copy
      const done = new Promise((r) => p.on('exit', r));
      p.kill('SIGTERM');
      await done;
      const after = fs.readFileSync(log);
      assert.match(after.toString(), /"stopped"/, 'the lines after the truncation are kept');
      assert.equal(after.includes(0), !clean, clean ? 'no NUL hole when appending' : 'a hole without O_APPEND (control)');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.match(unit, /StandardError=journal/, 'the unit logs to the journal by default');
});

test('the systemd units verify, with the hardening the brief asks for', (t) => {
  if (onPostgres) return t.skip('driver-independent: runs in the SQLite pass');
  const units = ['fangkong.service', 'fangkong@.service', 'fangkong-broker.service'];
  for (const u of units.slice(0, 2)) {
    const s = fs.readFileSync(`deploy/systemd/${u}`, 'utf8');
    for (const want of [/^User=fangkong$/m, /^ProtectSystem=strict$/m, /^ReadWritePaths=\/var\/lib\/fangkong$/m,
      /^NoNewPrivileges=yes$/m, /^LimitNOFILE=\d+$/m, /^Restart=on-failure$/m]) assert.match(s, want, `${u}: ${want}`);
  }
  const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => fs.existsSync(p));
  if (!analyze) return t.skip('systemd-analyze not installed');
  // verified as installed, with the binary path pointing at this build
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-units-'));
  try {
    for (const u of units) {
      const s = fs.readFileSync(`deploy/systemd/${u}`, 'utf8').replaceAll('/opt/fangkong/build/fangkong', BIN);
      fs.writeFileSync(path.join(dir, u === 'fangkong@.service' ? 'fangkong@8081.service' : u), s);
    }
    for (const u of ['fangkong.service', 'fangkong@8081.service', 'fangkong-broker.service']) {
      const v = spawnSync(analyze, ['verify', u], { cwd: dir, encoding: 'utf8' });
      assert.equal(v.status, 0, `${u}: ${v.stderr}`);
      assert.equal((v.stdout + v.stderr).trim(), '', `${u} verifies clean`);
    }
    // the control: a unit with an unknown setting does not verify clean
    fs.writeFileSync(path.join(dir, 'broken.service'), '[Service]\nExecStart=/bin/true\nProtectSystm=strict\n');
    const r = spawnSync(analyze, ['verify', 'broken.service'], { cwd: dir, encoding: 'utf8' });
    assert.match(r.stderr + r.stdout, /Unknown key.*'ProtectSystm'/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
