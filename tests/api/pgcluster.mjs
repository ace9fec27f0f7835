// Throwaway PostgreSQL 15 clusters for the high-availability tests
// (pg-failover, backup-pitr): made on loopback on free ports, each in a
// folder under one temporary directory, stopped (immediate) and removed by
// `cleanup` even when a test fails. As root (CI), the clusters run as the
// `postgres` system user, like scripts/with-postgres.sh.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const PGBIN = process.env.PGBIN || '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

// A temporary directory the cluster user can write.
export function pgTempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (asRoot) execFileSync('chown', ['postgres:', dir]);
  return dir;
}

// A folder the cluster user owns (e.g. a WAL archive).
export function pgMkdir(p) {
  fs.mkdirSync(p);
  if (asRoot) execFileSync('chown', ['postgres:', p]);
}

// Run a PostgreSQL program (as the cluster user), from `cwd`; its output.
export function pgRun(cwd, prog, args, opts = {}) {
  const bin = path.join(PGBIN, prog);
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return execFileSync(file, argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, ...opts });
}

// One cluster: data folder `dir/name`, socket in `dir`, port `port`.
export class Cluster {
  constructor(dir, name, port) {
    this.dir = dir;
    this.name = name;
    this.data = path.join(dir, name);
    this.port = port;
    this.running = false;
  }
  // initdb, with `conf` (lines) appended to postgresql.conf.
  init(conf = []) {
    pgRun(this.dir, 'initdb', ['-D', this.data, '-E', 'UTF8', '--locale=C', '-A', 'trust', '-U', 'fangkong', '--no-sync']);
    this.conf(conf);
  }
  // `auto`: into postgresql.auto.conf, read last (where pg_basebackup -R writes)
  conf(lines, auto = false) {
    if (lines.length) fs.appendFileSync(path.join(this.data, auto ? 'postgresql.auto.conf' : 'postgresql.conf'), lines.join('\n') + '\n');
  }
  // the server's output goes to the log file: stdout not piped (the
  // postmaster would hold the pipe open and the call would never return)
  start() {
    this.running = true; // a start that fails half-way is still stopped by cleanup
    pgRun(this.dir, 'pg_ctl', ['-D', this.data, '-l', path.join(this.dir, `${this.name}.log`), '-w', '-t', '60', '-o',
      `-c listen_addresses=127.0.0.1 -p ${this.port} -k ${this.dir} -c max_connections=120`, 'start'], { stdio: 'ignore' });
  }
  // `immediate`: the processes end at once, as in a crash
  stop(mode = 'fast') {
    if (!this.running) return;
    this.running = false;
    pgRun(this.dir, 'pg_ctl', ['-D', this.data, '-m', mode, '-w', 'stop']);
  }
  promote() {
    pgRun(this.dir, 'pg_ctl', ['-D', this.data, '-w', '-t', '30', 'promote']);
  }
  // One value (the first column of the first row) of `sql` in `db`.
  query(sql, db = 'fangkong') {
    return pgRun(this.dir, 'psql', ['-X', '-tA', '-h', '127.0.0.1', '-p', String(this.port), '-U', 'fangkong', '-d', db, '-c', sql]).trim();
  }
  url(db = 'fangkong') {
    return `postgres://fangkong@127.0.0.1:${this.port}/${db}`;
  }
  log() {
    try {
      return fs.readFileSync(path.join(this.dir, `${this.name}.log`), 'utf8');
    } catch {
      return '';
    }
  }
}

// Stop every cluster still running (immediate) and remove the folder.
export function cleanup(dir, clusters) {
  for (const c of clusters) {
    try {
      c?.stop('immediate');
    } catch {}
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
