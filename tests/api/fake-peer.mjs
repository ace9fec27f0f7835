// A fake exchange peer for the tests of the outbox and the connectors: a
// small HTTP server that checks each call's SM2 signature under the public
// key of the fangkong that calls it (docs/exchange.md "canonical text"),
// answers signed with its own SM2 key over the reply's canonical text, and
// records what it received. Writes are remembered by Idempotency-Key: a
// repeated key is counted as a duplicate and answered with the first answer.
//
//   const peer = await startFakePeer({ routes: { 'GET /exchange/v1/ping': (rq) => [200, {...}] } });
//   peer.callerKey = ourPublicPem;   // verify calls under this key
//   peer.mode = 'down' | 'bad_signature' | 'unsigned' | 'error503' | 'ok';
//   peer.loseAnswers = 1;            // the next write is done but its answer lost
//   await peer.close();
import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';

const sm3hex = (buf) => crypto.createHash('sm3').update(buf).digest('hex');

export function sm2Pair() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'SM2' });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }),
  };
}

export function canonical(method, path, query, body, caller, ts, nonce) {
  const q = (query || '').split('&').filter(Boolean).sort().join('&');
  return ['FK-SM2-SM3', method, path, q, sm3hex(body), caller, ts, nonce].join('\n');
}

export function canonicalReply(status, body, nonce, ts) {
  return ['FK-SM2-SM3-REPLY', String(status), sm3hex(body), nonce, ts].join('\n');
}

export async function startFakePeer(opts = {}) {
  const keys = sm2Pair();
  const peer = {
    keys,
    callerKey: opts.callerKey || null, // the PEM our calls must verify under
    caller: opts.caller || 'fangkong-test',
    mode: 'ok',
    loseAnswers: 0, // this many next answers to writes are dropped after the write (a cut line)
    calls: [], // every call: {method, path, query, headers, body, verified}
    byKey: new Map(), // idempotency key -> {count, status, body, records}
    duplicates: 0,
    routes: opts.routes || {},
  };

  const answer = (res, status, obj, nonce) => {
    const body = Buffer.from(JSON.stringify(obj));
    const ts = String(Date.now());
    const headers = { 'Content-Type': 'application/json', 'X-Fk-Timestamp': ts };
    if (peer.mode !== 'unsigned') {
      const text = canonicalReply(status, body, nonce || '', ts);
      const key = peer.mode === 'bad_signature' ? sm2Pair().privatePem : keys.privatePem;
      headers['X-Fk-Signature'] = crypto.sign('sm3', Buffer.from(text), key).toString('base64');
    }
    res.writeHead(status, headers);
    res.end(body);
  };

  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const [path, query = ''] = req.url.split('?');
      const h = req.headers;
      const nonce = h['x-fk-nonce'] || '';
      let verified = false;
      try {
        const text = canonical(req.method, path, query, raw, h['x-fk-caller'] || '', h['x-fk-timestamp'] || '', nonce);
        verified = !!peer.callerKey && crypto.verify('sm3', Buffer.from(text), peer.callerKey, Buffer.from(h['x-fk-signature'] || '', 'base64'));
      } catch {
        verified = false;
      }
      const rq = { method: req.method, path, query, headers: h, body: raw.length ? JSON.parse(raw.toString()) : null, verified };
      peer.calls.push(rq);
      if (peer.mode === 'error503') return answer(res, 503, { error: { code: 'maintenance', message: '系统维护中' } }, nonce);
      if (!verified) return answer(res, 401, { error: { code: 'signature_invalid', message: '签名无效' } }, nonce);
      if (h['x-fk-caller'] !== peer.caller) return answer(res, 401, { error: { code: 'unknown_caller', message: '调用方不存在' } }, nonce);
      const idem = h['idempotency-key'];
      if (idem && peer.byKey.has(idem)) {
        const first = peer.byKey.get(idem);
        first.count++;
        peer.duplicates++;
        return answer(res, first.status, first.body, nonce);
      }
      const route = peer.routes[`${req.method} ${path}`] || peer.routes[`${req.method} *`];
      let [status, obj] = route ? route(rq, peer) : [404, { error: { code: 'not_found', message: '接口不存在' } }];
      if (idem && status >= 200 && status < 300) peer.byKey.set(idem, { count: 1, status, body: obj, rq });
      if (idem && peer.loseAnswers > 0) {
        peer.loseAnswers--;
        return req.socket.destroy(); // done on our side, the answer never reaches the caller
      }
      answer(res, status, obj, nonce);
    });
  };
  // opts.tls = {key, cert}: the peer behind https
  const server = opts.tls ? https.createServer(opts.tls, handler) : http.createServer(handler);
  // 'down': connections are accepted and dropped at once, as a dead service behind a port would
  server.on('connection', (sock) => {
    if (peer.mode === 'down') sock.destroy();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  peer.port = server.address().port;
  peer.url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${peer.port}`;
  peer.close = () => new Promise((r) => server.close(r));
  return peer;
}
