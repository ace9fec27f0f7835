// Visitor and vehicle vocabularies with the server's names (src/visitor/,
// src/vehicle/) and their Chinese labels, and the kind of a signed code.
export const VISITOR_STATUS = {
  pending: { text: '待审核', tag: 'warning' },
  confirmed: { text: '已通过', tag: 'success' },
  refused: { text: '已拒绝', tag: 'danger' },
  cancelled: { text: '已取消', tag: 'default' },
};

export const VEHICLE_KINDS = [
  { value: 'car', text: '小型汽车' },
  { value: 'new_energy', text: '新能源汽车' },
  { value: 'truck', text: '货车' },
  { value: 'motorcycle', text: '摩托车' },
  { value: 'other', text: '其他' },
];

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
