// Display conventions, one module for the console and the mobile pages:
// dates and times written the Chinese way by the application
// (2026年12月3日 14:05), never by the browser's locale or as raw ISO text,
// on the Asia/Shanghai clock whatever the browser's zone, 24-hour clock,
// and empty values as a dash.
const dtf = new Intl.DateTimeFormat('en-US', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric', month: 'numeric', day: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
});

// the fields of an instant on the Shanghai clock, as numbers
function parts(ms) {
  const o = {};
  for (const p of dtf.formatToParts(new Date(ms))) if (p.type !== 'literal') o[p.type] = Number(p.value);
  if (o.hour === 24) o.hour = 0;
  return o;
}
const two = (n) => String(n).padStart(2, '0');
const empty = (ms) => ms === undefined || ms === null || ms === '' || Number(ms) === 0 || Number.isNaN(Number(ms));

// 2026年12月3日 14:05
export function fmtTime(ms) {
  if (empty(ms)) return '—';
  const p = parts(Number(ms));
  return `${p.year}年${p.month}月${p.day}日 ${two(p.hour)}:${two(p.minute)}`;
}

// 2026年12月3日 14:05:09: where the second matters (audit, device heartbeats,
// the live clocks of the pass and code screens, which show a screen is live)
export function fmtTimeSec(ms) {
  if (empty(ms)) return '—';
  const p = parts(Number(ms));
  return `${p.year}年${p.month}月${p.day}日 ${two(p.hour)}:${two(p.minute)}:${two(p.second)}`;
}

// 2026年12月3日
export function fmtDate(ms) {
  if (empty(ms)) return '—';
  const p = parts(Number(ms));
  return `${p.year}年${p.month}月${p.day}日`;
}

// yyyymmdd (birth dates) -> 1990年1月2日
export function fmtYmd(v) {
  const s = String(v || '');
  return /^\d{8}$/.test(s) ? `${Number(s.slice(0, 4))}年${Number(s.slice(4, 6))}月${Number(s.slice(6))}日` : '—';
}

export const dash = (v) => (v === undefined || v === null || v === '' ? '—' : v);

// 1234567 -> 1,234,567
export const fmtNum = (n) => (n === undefined || n === null ? '—' : Number(n).toLocaleString('zh-CN'));

// A <input type="datetime-local"> value (2026-11-27T18:05) for an instant,
// read on the Asia/Shanghai clock, and back: what the user types is
// Shanghai time whatever the browser's zone.
export function toLocalInput(ms) {
  const p = parts(Number(ms));
  return `${p.year}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}`;
}

export function fromLocalInput(s) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(s || '')) return null;
  const t = Date.parse(s.slice(0, 16) + ':00+08:00');
  return Number.isNaN(t) ? null : t;
}
