// Shared harness for the black-box API suite: starts a real `fangkong serve`
// on a free port with a fresh data dir (and, under scripts/with-postgres.sh,
// a fresh PostgreSQL database), runs CLI commands against the same
// configuration, and offers a small cookie-keeping HTTP client.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const BIN = process.env.FK_BIN || path.resolve('build/fangkong');

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

// True when the suite runs under scripts/with-postgres.sh.
export const onPostgres = (process.env.FK_DB || '').startsWith('postgres');

// A migrated, empty database made once per binary and copied for every
// server of the run: `init` applying every migration was most of a server's
// start (1-3 s; the suites start a few hundred), a copy takes milliseconds.
// `init` still runs on the copy: it makes the server's own key and finds
// nothing to migrate. Nothing key-dependent is in a fresh database (the
// template holds only the seeded rules, roles and catalogues), so copies
// with keys of their own are sound.
const TEMPLATE = (() => {
  try {
    const st = fs.statSync(BIN);
    return createHash('sha1').update(`${BIN}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 16);
  } catch {
    return null; // no binary: startServer fails on it with its own message
  }
})();

function initEnv(extra) {
  const env = { ...process.env, ...extra };
  if (!extra.FK_DB) delete env.FK_DB;
  return env;
}

// SQLite: the template file beside the temporary folders, published with a
// hard link (atomic: two files building it at once keep one).
function sqliteTemplate() {
  const file = path.join(os.tmpdir(), `fk-template-${TEMPLATE}.db`);
  if (fs.existsSync(file)) return file;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-template-'));
  execFileSync(BIN, ['init'], { env: initEnv({ FK_DATA_DIR: dir }), stdio: 'pipe' });
  try {
    fs.linkSync(path.join(dir, 'fangkong.db'), file);
  } catch (e) {
    if (e.code !== 'EEXIST') throw e;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return file;
}

const psql = (sql) => execFileSync('psql', ['-X', '-q', '-d', 'postgres', '-c', sql], { stdio: 'pipe' });

// PostgreSQL: a template database in the run's cluster, renamed into place
// when complete (two files building it at once keep one).
function pgTemplate() {
  const name = `tpl_${TEMPLATE}`;
  const found = execFileSync('psql', ['-X', '-tA', '-d', 'postgres', '-c', `SELECT 1 FROM pg_database WHERE datname = '${name}'`], { encoding: 'utf8' });
  if (found.trim() === '1') return name;
  const tmp = 'tpb_' + randomBytes(6).toString('hex');
  execFileSync('createdb', [tmp], { stdio: 'inherit' });
  const { PGHOST, PGPORT, PGUSER } = process.env;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-template-'));
  execFileSync(BIN, ['init'], { env: initEnv({ FK_DATA_DIR: dir, FK_DB: `postgres://${PGUSER}@${PGHOST}:${PGPORT}/${tmp}` }), stdio: 'pipe' });
  fs.rmSync(dir, { recursive: true, force: true });
  try {
    psql(`ALTER DATABASE ${tmp} RENAME TO ${name}`);
  } catch {
    psql(`DROP DATABASE ${tmp}`); // another file's template won
  }
  return name;
}

function freshDbUrl() {
  // under scripts/with-postgres.sh every server gets its own database
  if (!onPostgres) return undefined;
  const name = 't_' + randomBytes(6).toString('hex');
  // FILE_COPY, not PostgreSQL 15's default WAL_LOG: the template's 16 MB
  // copied as files (the cluster runs with fsync off, so its checkpoints are
  // cheap) rather than written block by block through the WAL: the cluster's
  // CPU per copy 0.46 s instead of 0.65 s (its postmaster and children,
  // measured from /proc)
  execFileSync('createdb', ['-S', 'FILE_COPY', '-T', pgTemplate(), name], { stdio: 'inherit' });
  const { PGHOST, PGPORT, PGUSER } = process.env;
  return `postgres://${PGUSER}@${PGHOST}:${PGPORT}/${name}`;
}

// Reports of ASan, LeakSanitizer and UBSan (the SAN=1 build): any one of
// them fails the test that ran the process.
const SANITIZER = /(AddressSanitizer|LeakSanitizer|runtime error:)/;
function checkSanitizer(what, stderr) {
  if (SANITIZER.test(stderr || '')) throw new Error(`${what}: sanitizer report:\n${stderr}`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Start a server. opts.env adds environment; opts.setup(fk) runs CLI
// commands (e.g. user add) after init and before serve; opts.sqlite keeps
// it on SQLite under scripts/with-postgres.sh.
export async function startServer(opts = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fk-api-'));
  const port = await freePort();
  const env = {
    ...process.env,
    FK_DATA_DIR: dir,
    FK_PORT: String(port),
    FK_THREADS: '2',
    // argon2id at a test cost (64 KiB, one pass), not the default 19 MiB x 2:
    // password hashing was a fifth of the suites' CPU. The cost is stored in
    // each hash; auth.test.mjs covers the default cost and the re-hash.
    FK_PASSWORD_MEMORY_KIB: '64',
    FK_PASSWORD_PASSES: '1',
    // a write waits up to 10 s for the database, not 2: on a CI machine
    // running two suites' servers and Chromiums at once a busy 503 is the
    // machine's load, not the code's (busy.test.mjs sets its own wait)
    FK_WRITE_WAIT_MS: '10000',
    ...(opts.env || {}),
  };
  // opts.sqlite: this server on SQLite even under with-postgres (a mixed federation)
  const dbUrl = opts.sqlite ? undefined : freshDbUrl();
  if (dbUrl) env.FK_DB = dbUrl;
  else {
    delete env.FK_DB;
    fs.copyFileSync(sqliteTemplate(), path.join(dir, 'fangkong.db'));
  }
  const fk = (args, o = {}) => {
    try {
      const stdout = execFileSync(BIN, args, { env, encoding: 'utf8', input: o.input, stdio: ['pipe', 'pipe', 'pipe'] });
      return { status: 0, stdout, stderr: '' };
    } catch (e) {
      checkSanitizer(`fangkong ${args.join(' ')}`, e.stderr);
      return { status: e.status, stdout: e.stdout || '', stderr: e.stderr || '' };
    }
  };
  const must = (args) => {
    const r = fk(args);
    if (r.status !== 0) throw new Error(`fangkong ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  };
  must(['init']);
  const ctx = { dir, port, env, fk, must, url: `http://127.0.0.1:${port}`, dbUrl };
  if (opts.setup) await opts.setup(ctx);
  await launch(ctx);
  ctx.stop = async (signal = 'SIGTERM') => {
    if (!ctx.proc) return undefined;
    if (ctx.proc.exitCode !== null || ctx.proc.signalCode !== null) {
      // died before the stop: a sanitizer's report says why
      checkSanitizer('fangkong serve', ctx.stderr);
      return ctx.proc.exitCode ?? ctx.proc.signalCode;
    }
    const status = await stopped(ctx, signal);
    checkSanitizer('fangkong serve', ctx.stderr);
    // a graceful stop exits 0; anything else (a leak report, a crash) fails
    if (signal === 'SIGTERM' && status !== 0) throw new Error(`fangkong serve exited ${status}:\n${ctx.stderr.slice(-4000)}`);
    return status;
  };
  ctx.restart = async () => {
    await ctx.stop();
    await launch(ctx);
  };
  ctx.client = () => new Client(ctx.url);
  return ctx;
}

// A second server on the same data directory and database as ctx (another
// port, another node id): several instances behind one load balancer.
export async function startPeer(ctx, env = {}) {
  const port = await freePort();
  const peer = { dir: ctx.dir, port, env: { ...ctx.env, FK_PORT: String(port), FK_NODE: '7', ...env }, url: `http://127.0.0.1:${port}` };
  await launch(peer);
  peer.client = () => new Client(peer.url);
  peer.stop = async () => {
    if (peer.proc.exitCode !== null) return peer.proc.exitCode;
    const status = await stopped(peer, 'SIGTERM');
    checkSanitizer('fangkong serve (peer)', peer.stderr);
    if (status !== 0) throw new Error(`peer exited ${status}:\n${peer.stderr.slice(-4000)}`);
    return status;
  };
  return peer;
}

// Send `signal` to a server and wait for its exit status, at most
// STOP_WAIT_MS: a server that outlives that is killed and fails the test
// with its last words, instead of hanging the pass (see launch: a server
// that never answered in time sat in its sigwait for 15-40 minutes). The
// signal goes by pid (process.kill), not ChildProcess.kill, which sends
// nothing once node holds no handle for the child.
const STOP_WAIT_MS = 120000;
async function stopped(ctx, signal) {
  let timer;
  const done = new Promise((r) => ctx.proc.on('exit', (code, sig) => r(code ?? sig)));
  const LATE = Symbol('late');
  const late = new Promise((r) => { timer = setTimeout(() => r(LATE), STOP_WAIT_MS); });
  const send = (sig) => {
    try {
      process.kill(ctx.proc.pid, sig);
    } catch (e) {
      if (e.code !== 'ESRCH') throw e; // gone already: its exit event says how
    }
  };
  send(signal);
  const status = await Promise.race([done, late]);
  clearTimeout(timer);
  if (status !== LATE) return status;
  send('SIGKILL');
  throw new Error(`fangkong serve did not stop within ${STOP_WAIT_MS / 1000} s of ${signal}:\n${ctx.stderr.slice(-4000)}`);
}

async function launch(ctx) {
  ctx.stderr = '';
  ctx.proc = spawn(BIN, ['serve'], { env: ctx.env, stdio: ['ignore', 'ignore', 'pipe'] });
  ctx.proc.stderr.on('data', (d) => {
    ctx.stderr += d;
    if (process.env.FK_TEST_VERBOSE) process.stderr.write(d);
  });
  // Up to START_WAIT_MS by the clock, not 200 tries: a sanitizer build's
  // server at nice 19 under a load average of 25 took longer than 200 tries.
  // One that never answers is killed before the test fails: left running,
  // its stderr pipe kept the test file alive for ever (three 15-40 minute
  // hangs of the sanitizer pass on a loaded machine).
  const until = Date.now() + START_WAIT_MS;
  while (Date.now() < until) {
    if (ctx.proc.exitCode !== null) throw new Error('server exited: ' + ctx.stderr);
    try {
      const r = await fetch(ctx.url + '/healthz');
      if (r.ok) return;
    } catch {}
    await sleep(50);
  }
  try {
    process.kill(ctx.proc.pid, 'SIGKILL');
  } catch {}
  throw new Error(`server did not start within ${START_WAIT_MS / 1000} s: ` + ctx.stderr);
}
const START_WAIT_MS = 60000;

// A client that keeps the session cookie like a browser.
export class Client {
  constructor(base) {
    this.base = base;
    this.cookie = '';
  }
  async req(method, p, body, headers = {}) {
    const h = { ...headers };
    if (this.cookie) h.cookie = this.cookie;
    let payload;
    if (body !== undefined) {
      if (typeof body === 'string' || body instanceof Uint8Array) payload = body;
      else payload = JSON.stringify(body);
    }
    // every state-changing request declares JSON, with a body or without
    // (the server refuses others as cross-site: docs/security.md); an
    // explicit content-type header in any case wins
    const hasType = Object.keys(h).some((k) => k.toLowerCase() === 'content-type');
    if (!hasType && (body !== undefined || !['GET', 'HEAD'].includes(method))) h['content-type'] = 'application/json';
    const r = await fetch(this.base + p, { method, headers: h, body: payload, redirect: 'manual' });
    const setc = r.headers.get('set-cookie');
    if (setc) {
      const m = /fk_session=([^;]*)/.exec(setc);
      if (m) this.cookie = m[1] ? `fk_session=${m[1]}` : '';
    }
    const text = await r.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: r.status, body: json, text, headers: r.headers };
  }
  get(p, h) { return this.req('GET', p, undefined, h); }
  post(p, b, h) { return this.req('POST', p, b, h); }
  patch(p, b, h) { return this.req('PATCH', p, b, h); }
  put(p, b, h) { return this.req('PUT', p, b, h); }
  del(p, h) { return this.req('DELETE', p, undefined, h); }
  async login(username, password, totpSecret) {
    const body = { username, password };
    if (totpSecret) body.totp = totp(totpSecret);
    const r = await this.post('/api/v1/auth/login', body);
    if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${r.text}`);
    return r;
  }
}

// RFC 6238 TOTP (SHA-1, 30 s, 6 digits) from a base32 secret.
export function totp(b32, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of b32.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30000)));
  const h = createHmac('sha1', Buffer.from(bytes)).update(counter).digest();
  const o = h[h.length - 1] & 15;
  const v = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(v % 1000000).padStart(6, '0');
}

// The last SMS code the file gateway wrote for a phone.
export function smsCode(ctx, phone) {
  const file = path.join(ctx.dir, 'sms.log');
  const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
  for (let i = lines.length - 1; i >= 0; i--) {
    let rec;
    try {
      rec = JSON.parse(lines[i]);
    } catch {
      continue; // the gateway's line still being written: the caller polls again
    }
    if (rec.phone === phone) return rec.code;
  }
  return undefined;
}

// A valid GB 11643 resident id number for a region prefix, birth date and sequence.
export function residentId(prefix6 = '110101', birth = '19900101', seq = 1, male = true) {
  let s3 = seq % 1000;
  if ((s3 % 2 === 1) !== male) s3 = (s3 + 1) % 1000;
  const body = prefix6 + birth + String(s3).padStart(3, '0');
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(body[i]) * w[i];
  return body + '10X98765432'[sum % 11];
}

// A valid GB 32100 unified social credit code from 17 leading characters.
export function creditCode(first17 = '91110101MA0000000') {
  const a = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += a.indexOf(first17[i]) * w[i];
  return first17 + a[(31 - (sum % 31)) % 31];
}

// Parse the TOTP secret `fangkong user add` prints for roles that need one.
export function totpSecretFrom(stdout) {
  const m = /TOTP secret:\s*([A-Z2-7]+)/.exec(stdout);
  return m ? m[1] : undefined;
}

// Write a file into the server's data dir (CSV/GeoJSON fixtures).
export function writeTmp(ctx, name, text) {
  const p = path.join(ctx.dir, name);
  fs.writeFileSync(p, text);
  return p;
}

// A standard small city used by most suites: one district with two streets,
// each with a community, a grid and a building.
export const CITY_CSV = [
  'code,name,level,parent_code',
  '110000000000,北京市,province,',
  '110100000000,市辖区,city,110000000000',
  '110101000000,东城区,district,110100000000',
  '110101001000,东华门街道,street,110101000000',
  '110101001001,多福巷社区,community,110101001000',
  '110101001001001,第一网格,grid,110101001001',
  '110101001001001001,1号楼,building,110101001001001',
  '110101002000,景山街道,street,110101000000',
  '110101002001,隆福寺社区,community,110101002000',
  '110102000000,西城区,district,110100000000',
  '110102001000,西长安街街道,street,110102000000',
  '110102001001,府右街社区,community,110102001000',
].join('\n') + '\n';

// The audit entries matching `query` (the audit API's filters), read as
// `auditor` (who holds audit.read), once one satisfies `pred`: reads are
// audited through a queue, so an entry may land a few milliseconds after
// the reply. Gives the last page read either way; the caller asserts.
export async function waitForAudit(auditor, query, pred) {
  let items = [];
  for (let i = 0; i < 60; i++) {
    const r = await auditor.get(`/api/v1/audit?page_size=200&${query}`);
    if (r.status !== 200) throw new Error(`audit query ${query}: ${r.status} ${r.text}`);
    items = r.body.items;
    if (items.some(pred)) return items;
    await sleep(50);
  }
  return items;
}

// Run SQL on a server's database from beside it (sqlite3 or psql, as the
// suite runs), as an operator or an attacker with database access would:
// the rows come back as text, one a line, columns joined by `sep`.
export function sqlRun(ctx, text, sep = '|') {
  if (ctx.dbUrl) return execFileSync('psql', ['-q', '-At', '-F', sep, '-v', 'ON_ERROR_STOP=1', '-d', ctx.dbUrl, '-c', text], { encoding: 'utf8' });
  return execFileSync('sqlite3', ['-cmd', '.timeout 10000', '-separator', sep, path.join(ctx.dir, 'fangkong.db'), text], { encoding: 'utf8' });
}

// Make every append of an audit entry for `action` fail (a trigger on
// audit_log, as a broken disk or a full table would) while fn runs.
export async function failingAudit(ctx, action, fn) {
  if (ctx.dbUrl) {
    sqlRun(ctx, `CREATE FUNCTION fk_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
           IF NEW.action = '${action}' THEN RAISE EXCEPTION 'forced audit failure'; END IF; RETURN NEW; END $$;
         CREATE TRIGGER fk_test_fail BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION fk_test_fail();`);
  } else {
    sqlRun(ctx, `CREATE TRIGGER fk_test_fail BEFORE INSERT ON audit_log WHEN NEW.action = '${action}'
         BEGIN SELECT RAISE(ABORT, 'forced audit failure'); END;`);
  }
  try {
    return await fn();
  } finally {
    sqlRun(ctx, ctx.dbUrl ? 'DROP TRIGGER fk_test_fail ON audit_log; DROP FUNCTION fk_test_fail();' : 'DROP TRIGGER fk_test_fail;');
  }
}

// The lease lines of a server's /metrics: {held: {lease: 0|1}, runs: {lease: n}}.
export async function leases(srv) {
  const text = await (await fetch(srv.url + '/metrics')).text();
  const out = { held: {}, runs: {} };
  for (const m of text.matchAll(/^fangkong_lease_(held|runs_total)\{lease="([a-z_]+)"\} (\d+)$/gm))
    out[m[1] === 'held' ? 'held' : 'runs'][m[2]] = Number(m[3]);
  return out;
}

// Poll `fn` every 50 ms until it holds or `ms` pass; whether it held.
export async function until(fn, ms = 3000) {
  for (let t = 0; t < ms; t += 50) {
    if (fn()) return true;
    await sleep(50);
  }
  return fn();
}

// An SSE reader over fetch for `client`'s session at server `base`: events
// ({id, event, data}) parsed as they arrive, keep-alive comments counted,
// the raw text kept, and `ended` once the server closed the stream.
export async function openStream(base, client, headers = {}, path = '/api/v1/alerts/stream') {
  const ctl = new AbortController();
  const r = await fetch(base + path, { headers: { cookie: client.cookie, ...headers }, signal: ctl.signal });
  const s = { status: r.status, type: r.headers.get('content-type'), events: [], comments: 0, raw: '', ended: false };
  s.close = () => ctl.abort();
  if (r.status !== 200) return s;
  const reader = r.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const text = dec.decode(value, { stream: true });
        buf += text;
        s.raw += text;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) s.comments++;
            else if (line.startsWith('id: ')) ev.id = line.slice(4);
            else if (line.startsWith('event: ')) ev.event = line.slice(7);
            else if (line.startsWith('data: ')) ev.data = JSON.parse(line.slice(6));
          }
          if (ev.event) s.events.push(ev);
        }
      }
      s.ended = true;
    } catch {
      s.failed = true; // cut without its end: the server died, or close() aborted it
    }
  })();
  return s;
}

// The error body of a reply ({} when there is none).
export const errOf = (r) => r.body?.error ?? {};

// Assert a refused reply: its status, error code, field (when given) and a
// message in Chinese.
export function expectError(r, status, code, field) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.body.error.code, code, r.text);
  if (field !== undefined) assert.equal(r.body.error.field, field, r.text);
  assert.match(r.body.error.message, /[\u4e00-\u9fff]/, 'message in Chinese');
}

// A client of server ctx signed in as `username` (with the TOTP secret that
// `user add` printed, for roles that need one); `.id` is the account's id.
export async function signedIn(ctx, username, password, secret) {
  const c = ctx.client();
  await c.login(username, password, secret);
  c.id = (await c.get('/api/v1/me')).body.id;
  return c;
}

// The audit entries of `action` (about `objectId` when given), read as
// `auditor`, once there is one.
export function auditEntries(auditor, action, objectId) {
  const q = new URLSearchParams({ action });
  if (objectId) q.set('object_id', objectId);
  return waitForAudit(auditor, q.toString(), () => true);
}

// The staff most suites need in CITY_CSV, by username: the command centres
// of both districts, a grid worker of 多福巷社区, a checkpoint and a doctor of
// 东城区, and the audit administrator. For startCityWith.
export const CITY_STAFF = {
  cc_dc: ['command_center', '110101000000'],
  cc_xc: ['command_center', '110102000000'],
  grid_dc: ['grid_worker', '110101001001'],
  gate_dc: ['checkpoint_staff', '110101000000'],
  doctor_dc: ['doctor', '110101000000'],
  auditor: ['audit_admin', '110000000000'],
};

// A server with the standard city (CITY_CSV) and these accounts
// ({username: [role, region]}), each signed in with `password` (and the TOTP
// secret `user add` printed, for roles that need one): ctx.as[username] is
// its client. opts go to startServer (env; setup runs after the accounts).
export async function startCityWith(accounts, password, opts = {}) {
  const secrets = {};
  const ctx = await startServer({
    ...opts,
    setup: async (c) => {
      c.must(['import', 'regions', writeTmp(c, 'city.csv', CITY_CSV)]);
      for (const [u, [role, region]] of Object.entries(accounts))
        secrets[u] = totpSecretFrom(c.must(['user', 'add', '--username', u, '--password', password, '--role', role, '--region', region]));
      if (opts.setup) await opts.setup(c);
    },
  });
  ctx.as = {};
  for (const u of Object.keys(accounts)) ctx.as[u] = await signedIn(ctx, u, password, secrets[u]);
  return ctx;
}
