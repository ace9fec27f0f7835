// What the contact-tracing pages (Traces.vue, TraceRun.vue and their parts)
// say about a run and its contacts: the classes' colours, the reasons as
// readable Chinese ("XX超市 12-01 10:05–10:40 重叠35分钟") and the run's
// state. The labels come from the server (its vocabularies, class_label,
// kind_label, status_label); only presentation lives here.
import { fmtDate, fmtTime } from '@shared/format.js';
import { labelOf, vocab } from '@console/vocab.js';

export const TRACES = '/api/v1/traces';
export const TRACE_RULES = '/api/v1/trace/rules';

// the classes (close, secondary, general) and the kinds of contact (the
// reasons' `kind`: venue, household, …) with their names, as the server
// has them (GET /api/v1/vocabularies)
export const CLASSES = vocab('trace_classes');
export const KINDS = vocab('trace_reason_kinds');
export const kindLabel = (v) => labelOf(KINDS, v);
// each class's colour in the graph and the map, and its tag in the table
export const CLASS_STYLE = {
  close: { color: '#e6553a', tag: 'danger' },
  secondary: { color: '#f0a020', tag: 'warning' },
  general: { color: '#4a90e2', tag: 'info' },
};
export const CASE_COLOR = '#a0142c';
export const OUTSIDE_COLOR = '#909399';
export const colourOf = (cls) => CLASS_STYLE[cls]?.color || OUTSIDE_COLOR;
// a node of the graph in words: the case, a district outside the scope, or
// a contact's degree and class
export const nodeText = (n) => (n.class === 'case' ? '病例' : n.class === 'outside' ? '辖区外人员' : `${n.degree} 度 · ${labelOf(CLASSES, n.class)}`);

export const RUNNING = new Set(['queued', 'running']);
// a run's state in words and as a tag (the server sends the name only)
export const STATUS = {
  queued: { label: '排队中', tag: 'info' },
  running: { label: '追踪中', tag: 'warning' },
  done: { label: '已完成', tag: 'success' },
  failed: { label: '失败', tag: 'danger' },
};

// "12月1日 10:05" (the year is the run's)
const md = (ms) => fmtTime(ms).replace(/^\d+年/, '');
// "10:05"
const hm = (ms) => fmtTime(ms).slice(-5);

// one reason as a line: where and when, the overlap, the passages around, the
// flight or train and seat; a reason with neither place nor time says its kind
export function reasonText(r) {
  const parts = [];
  if (r.kind !== 'venue' || !r.venue_name) parts.push(r.kind_label || kindLabel(r.kind));
  if (r.venue_name) parts.push(r.venue_name);
  if (r.number) parts.push(r.number);
  if (r.seat) parts.push(`座位 ${r.seat}`);
  if (r.from && r.to) parts.push(fmtDate(r.from) === fmtDate(r.to) ? `${md(r.from)}–${hm(r.to)}` : `${md(r.from)}–${md(r.to)}`);
  else if (r.from) parts.push(md(r.from));
  if (r.overlap_minutes) parts.push(`重叠${r.overlap_minutes}分钟`);
  if (r.crowd) parts.push(`同场出入${r.crowd}人次`);
  return parts.join(' ');
}

// the run's window as text
export const windowText = (run) => `${fmtTime(run.from)} 至 ${fmtTime(run.to)}`;

// a contact already turned into a report (incident_id 0 or "0": not yet)
export const committed = (c) => Boolean(c.incident_id) && String(c.incident_id) !== '0';
