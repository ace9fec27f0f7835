// Display conventions: times in Asia/Shanghai whatever the browser's zone,
// 24-hour clock, and empty values as a dash.
const dtf = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});
const df = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
});

function parts(f, ms) {
  const o = {};
  for (const p of f.formatToParts(new Date(ms))) o[p.type] = p.value;
  return o;
}

// 2026-11-27 18:05:09
export function fmtTime(ms) {
  if (!ms) return '—';
  const p = parts(dtf, Number(ms));
  return `${p.year}-${p.month}-${p.day} ${p.hour === '24' ? '00' : p.hour}:${p.minute}:${p.second}`;
}

// 2026-11-27
export function fmtDate(ms) {
  if (!ms) return '—';
  const p = parts(df, Number(ms));
  return `${p.year}-${p.month}-${p.day}`;
}

// yyyymmdd (birth dates) -> 1990-01-02
export function fmtYmd(v) {
  const s = String(v || '');
  return /^\d{8}$/.test(s) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6)}` : '—';
}

export const dash = (v) => (v === undefined || v === null || v === '' ? '—' : v);

// 1234567 -> 1,234,567
export const fmtNum = (n) => (n === undefined || n === null ? '—' : Number(n).toLocaleString('zh-CN'));

// A <input type="datetime-local"> value (2026-11-27T18:05) for an instant,
// read on the Asia/Shanghai clock, and back: what the user types is
// Shanghai time whatever the browser's zone.
export function toLocalInput(ms) {
  const p = parts(dtf, Number(ms));
  return `${p.year}-${p.month}-${p.day}T${p.hour === '24' ? '00' : p.hour}:${p.minute}`;
}

export function fromLocalInput(s) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(s || '')) return null;
  const t = Date.parse(s.slice(0, 16) + ':00+08:00');
  return Number.isNaN(t) ? null : t;
}
