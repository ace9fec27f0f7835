// A fake outside system for the connector tests (docs/exchange.md
// "Connectors"): an HTTP server that checks fangkong's SM2 signature on
// every call (the canonical text of src/exchange/sign.c, with the public key
// the test gives it), answers through a handler the test sets per path, and
// signs its answers with its own SM2 key, as the police, telecom or
// situation adapters would. It records what it received.
import crypto from 'node:crypto';
import http from 'node:http';

export function sm2Pair() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'SM2' });
  return {
    privateKey,
    publicKey,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }),
  };
}

const sm3hex = (buf) => crypto.createHash('sm3').update(buf).digest('hex');

function canonicalRequest(method, path, query, body, caller, ts, nonce) {
  const q = (query || '').split('&').filter(Boolean).sort().join('&');
  return ['FK-SM2-SM3', method, path, q, sm3hex(body), caller, ts, nonce].join('\n');
}

function canonicalReply(status, body, nonce, ts) {
  return ['FK-SM2-SM3-REPLY', String(status), sm3hex(body), nonce, ts].join('\n');
}

// opts.callerKey: the public key (KeyObject or PEM) fangkong signs with;
// opts.caller: the caller id fangkong must send. The peer's own key pair is
// peer.keys (give peer.keys.publicPem to fangkong as the peer's key).
export async function startFakePeer(opts) {
  const peer = {
    keys: sm2Pair(),
    // handlers['POST /police/v1/identity'] = ({body, query, path}) => ({status, body});
    // 'GET /urban/v1/cases/*' answers any last segment
    received: [], // {method, path, query, body (parsed), verified}
    handlers: {},
    mode: 'ok', // 'ok' | 'bad_signature' (answers signed by another key) | 'unsigned'
    badSignatures: 0,
  };
  const stranger = sm2Pair();
  const callerKey = typeof opts.callerKey === 'string' ? crypto.createPublicKey(opts.callerKey) : opts.callerKey;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const [path, query = ''] = req.url.split('?');
      const ts = req.headers['x-fk-timestamp'] || '';
      const nonce = req.headers['x-fk-nonce'] || '';
      const caller = req.headers['x-fk-caller'] || '';
      let verified = false;
      try {
        const text = canonicalRequest(req.method, path, query, raw, caller, ts, nonce);
        verified = caller === opts.caller &&
          crypto.verify('sm3', Buffer.from(text), callerKey, Buffer.from(req.headers['x-fk-signature'] || '', 'base64'));
      } catch { verified = false; }
      let body;
      try { body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined; } catch { body = undefined; }
      peer.received.push({ method: req.method, path, query, body, verified, headers: req.headers });
      let status, answer;
      if (!verified) {
        peer.badSignatures++;
        status = 401;
        answer = { error: { code: 'signature_invalid', message: '签名无效' } };
      } else {
        // an exact path, else the path with its last segment as '*'
        const h = peer.handlers[`${req.method} ${path}`] ?? peer.handlers[`${req.method} ${path.replace(/[^/]*$/, '*')}`];
        const out = h ? h({ body, query, path, headers: req.headers }) : { status: 404, body: { error: { code: 'not_found' } } };
        status = out.status ?? 200;
        answer = out.body;
      }
      const text = Buffer.from(JSON.stringify(answer ?? {}));
      const rts = String(Date.now());
      const headers = { 'content-type': 'application/json', 'x-fk-timestamp': rts };
      if (peer.mode !== 'unsigned') {
        const key = peer.mode === 'bad_signature' ? stranger.privateKey : peer.keys.privateKey;
        headers['x-fk-signature'] = crypto.sign('sm3', Buffer.from(canonicalReply(status, text, nonce, rts)), key).toString('base64');
      }
      res.writeHead(status, headers);
      res.end(text);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  peer.port = server.address().port;
  peer.url = `http://127.0.0.1:${peer.port}`;
  peer.stop = () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); });
  return peer;
}
