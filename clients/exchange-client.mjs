// A client of fangkong's data exchange (docs/exchange.md) in Node's own
// crypto: SM2 signatures with SM3 over OpenSSL 3, as the server makes and
// checks them. It signs each call with the caller's private key and
// verifies each answer under the server's public key, bound to the call's
// nonce, so neither a forged nor a replayed answer is accepted.
//
//   import { ExchangeClient } from './clients/exchange-client.mjs';
//   const c = new ExchangeClient({ base: 'http://127.0.0.1:8080', caller: '1234',
//                                  privateKeyPem, serverKeyPem });
//   const r = await c.get('/exchange/v1/ping');          // r.status, r.body, r.verified
//   await c.post('/exchange/v1/nat/sites', { records }, { idempotencyKey: 'batch-1' });
//
// Without serverKeyPem the client fetches GET /exchange/v1/server-key once
// (trust on first use: pin the key you were given instead in production).
import crypto from 'node:crypto';

export const H = {
  caller: 'X-Fk-Caller',
  timestamp: 'X-Fk-Timestamp',
  nonce: 'X-Fk-Nonce',
  signature: 'X-Fk-Signature',
  idempotency: 'Idempotency-Key',
};

const sm3hex = (buf) => crypto.createHash('sm3').update(buf).digest('hex');

// The canonical text of a call (exchange.h, exchange_canonical).
export function canonical({ method, path, query = '', body = '', caller, timestamp, nonce }) {
  const pairs = query ? query.split('&').filter((p) => p !== '') : [];
  pairs.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return ['FK-SM2-SM3', method.toUpperCase(), path, pairs.join('&'), sm3hex(Buffer.from(body)), caller, timestamp, nonce].join('\n');
}

// The canonical text of an answer (exchange_canonical_reply).
export function canonicalReply({ status, body = '', nonce = '', timestamp }) {
  return ['FK-SM2-SM3-REPLY', String(status), sm3hex(Buffer.from(body)), nonce, timestamp].join('\n');
}

export const sign = (text, privateKeyPem) => crypto.sign('sm3', Buffer.from(text), privateKeyPem).toString('base64');

export function verify(text, signatureB64, publicKeyPem) {
  try {
    return crypto.verify('sm3', Buffer.from(text), publicKeyPem, Buffer.from(signatureB64 || '', 'base64'));
  } catch {
    return false;
  }
}

export const newNonce = () => crypto.randomBytes(16).toString('hex');

export class ExchangeClient {
  constructor({ base, caller, privateKeyPem, serverKeyPem } = {}) {
    this.base = base;
    this.caller = String(caller);
    this.privateKeyPem = privateKeyPem;
    this.serverKeyPem = serverKeyPem;
  }

  async serverKey() {
    if (!this.serverKeyPem) {
      const r = await fetch(this.base + '/exchange/v1/server-key');
      const text = await r.text();
      this.serverKeyPem = JSON.parse(text).public_key_pem;
      // the key answers under itself: a check of the transport, not of trust
      const ok = verify(canonicalReply({ status: r.status, body: text, nonce: '', timestamp: r.headers.get(H.timestamp) }), r.headers.get(H.signature), this.serverKeyPem);
      if (!ok) throw new Error('server key answer does not verify');
    }
    return this.serverKeyPem;
  }

  // The headers of a signed call; `over` replaces any of them (tests).
  headers({ method, path, query = '', body = '', timestamp, nonce, idempotencyKey, privateKeyPem }) {
    const ts = String(timestamp ?? Date.now());
    const n = nonce ?? newNonce();
    const text = canonical({ method, path, query, body, caller: this.caller, timestamp: ts, nonce: n });
    const h = {
      [H.caller]: this.caller,
      [H.timestamp]: ts,
      [H.nonce]: n,
      [H.signature]: sign(text, privateKeyPem ?? this.privateKeyPem),
    };
    if (idempotencyKey) h[H.idempotency] = idempotencyKey;
    return h;
  }

  // One call. opts: query (string, as sent), idempotencyKey, timestamp,
  // nonce, privateKeyPem (another key), headers (override, e.g. a forged
  // signature), raw (send this body string instead of JSON.stringify).
  // Answers {status, body, text, headers, verified, nonce}.
  async call(method, path, body, opts = {}) {
    const text = opts.raw ?? (body === undefined ? '' : JSON.stringify(body));
    const query = opts.query || '';
    const signed = this.headers({ method, path, query, body: text, ...opts });
    const h = { ...signed, ...(text ? { 'content-type': 'application/json' } : {}), ...(opts.headers || {}) };
    for (const [k, v] of Object.entries(h)) if (v === undefined || v === null) delete h[k];
    const r = await fetch(this.base + path + (query ? '?' + query : ''), { method, headers: h, body: text || undefined });
    const out = await r.text();
    let json;
    try { json = out ? JSON.parse(out) : undefined; } catch { json = undefined; }
    const serverKey = await this.serverKey();
    const nonce = h[H.nonce];
    const verified = verify(canonicalReply({ status: r.status, body: out, nonce: /^[A-Za-z0-9_-]{16,64}$/.test(nonce || '') ? nonce : '', timestamp: r.headers.get(H.timestamp) }), r.headers.get(H.signature), serverKey);
    return { status: r.status, body: json, text: out, headers: r.headers, verified, nonce };
  }

  get(path, opts) { return this.call('GET', path, undefined, opts); }
  post(path, body, opts) { return this.call('POST', path, body, opts); }
  put(path, body, opts) { return this.call('PUT', path, body, opts); }
}
