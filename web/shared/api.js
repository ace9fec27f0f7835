// The one way the pages talk to fangkong: JSON over fetch with the session
// cookie. Every failure becomes an ApiError carrying the server's code,
// Chinese message and field, so a form can put the message next to the
// field at fault.
export class ApiError extends Error {
  constructor(status, code, message, field, fields) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
    // every field at fault ([{ field, code, message }]), the first one first
    this.fields = fields || (field ? [{ field, code, message }] : []);
  }
}

let onUnauthorized = null;
// Called when a request finds the session gone (401), e.g. to go to sign-in.
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export async function api(method, path, body, opts = {}) {
  const headers = {};
  let payload;
  if (typeof body === 'string') {
    // a raw upload (an import) names its own type; never text/plain, which
    // the server refuses as a type a cross-site form could send
    payload = body;
    headers['Content-Type'] = opts.contentType || 'application/json';
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  } else if (method !== 'GET' && method !== 'HEAD') {
    // every state-changing request declares JSON, with a body or without:
    // the server refuses others (docs/security.md, cross-site requests)
    headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', '网络连接失败，请检查网络后重试');
  }
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  if (!type.includes('application/json')) {
    if (!res.ok) throw new ApiError(res.status, 'http_' + res.status, `请求失败（${res.status}）`);
    return opts.raw ? res : await res.text();
  }
  const data = await res.json();
  if (!res.ok) {
    const e = data.error || {};
    const err = new ApiError(res.status, e.code || 'error', e.message || `请求失败（${res.status}）`, e.field, e.fields);
    // a conflict naming the record it conflicts with (a duplicate person of the caller's scope)
    if (e.existing_id) err.existingId = e.existing_id;
    if (res.status === 401 && onUnauthorized && !opts.noRedirect) onUnauthorized(err);
    throw err;
  }
  return data;
}

export const get = (p, opts) => api('GET', p, undefined, opts);
export const post = (p, b, opts) => api('POST', p, b, opts);
export const patch = (p, b, opts) => api('PATCH', p, b, opts);
export const del = (p, opts) => api('DELETE', p, undefined, opts);

// Build a query string from an object, leaving out empty values.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? '?' + s : '';
}
