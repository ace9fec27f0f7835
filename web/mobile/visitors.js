// Visitor statuses as tags and vehicle kinds (their names and Chinese
// labels come from the server's vocabularies, vocab.js), and the kind of a
// signed code.
import { VEHICLE_KINDS, VISITOR_STATUSES, label } from './vocab.js';

export { VEHICLE_KINDS };

const STATUS_TAG = { pending: 'warning', confirmed: 'success', refused: 'danger', cancelled: 'default' };
export const VISITOR_STATUS = Object.fromEntries(
  Object.entries(STATUS_TAG).map(([k, tag]) => [k, { tag, get text() { return label(VISITOR_STATUSES, k); } }]),
);

// A signed code is "FK1." + base32(payload) + "." + base32(tag), the
// payload's first byte its kind (src/security/token.h): 1 health code,
// 2 venue code, 3 visitor code. The first two base32 characters carry
// that byte's top 8 bits of 10. Anything else is left to the server.
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export function tokenKind(s) {
  const m = /^FK1\.([A-Z2-7])([A-Z2-7])/.exec(s || '');
  if (!m) return null;
  const byte = ((B32.indexOf(m[1]) << 5) | B32.indexOf(m[2])) >> 2;
  return { 1: 'health', 2: 'venue', 3: 'visitor' }[byte] || null;
}
