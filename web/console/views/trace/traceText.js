// What the contact-tracing pages (Traces.vue, TraceRun.vue and their parts)
// say about a run and its contacts: the classes' colours, the reasons as
// readable Chinese ("XX超市 12-01 10:05–10:40 重叠35分钟") and the run's
// state. The labels come from the server (class_label, kind_label,
// status_label); only presentation lives here.
import { fmtDate, fmtTime } from '@shared/format.js';

export const TRACES = '/api/v1/traces';
export const TRACE_RULES = '/api/v1/trace/rules';

// the classes in the order the table sorts them, with the graph's colours
export const CLASSES = [
  { value: 'close', label: '密接', color: '#e6553a', tag: 'danger' },
  { value: 'secondary', label: '次密接', color: '#f0a020', tag: 'warning' },
  { value: 'general', label: '一般接触', color: '#4a90e2', tag: 'info' },
];
export const classOf = (v) => CLASSES.find((c) => c.value === v);
export const CASE_COLOR = '#a0142c';
export const OUTSIDE_COLOR = '#909399';

// the kinds of contact (the reasons' `kind`), for the filter and the graph's links
export const KINDS = [
  { value: 'venue', label: '同场所' },
  { value: 'household', label: '同住' },
  { value: 'building', label: '同楼栋' },
  { value: 'travel', label: '同乘' },
  { value: 'vehicle', label: '同车' },
  { value: 'named', label: '指认' },
];
export const kindLabel = (v) => KINDS.find((k) => k.value === v)?.label || v;

export const RUNNING = new Set(['queued', 'running']);
export const STATUS_TAG = { queued: 'info', running: 'warning', done: 'success', failed: 'danger' };

// "12月1日 10:05" (the year is the run's)
const md = (ms) => fmtTime(ms).replace(/^\d+年/, '');
// "10:05"
const hm = (ms) => fmtTime(ms).slice(-5);

// one reason as a line: where and when, the overlap, the flight or train
// and seat; a reason with neither place nor time says its kind
export function reasonText(r) {
  const parts = [];
  if (r.kind !== 'venue' || !r.venue_name) parts.push(r.kind_label || kindLabel(r.kind));
  if (r.venue_name) parts.push(r.venue_name);
  if (r.number) parts.push(r.number);
  if (r.seat) parts.push(`座位 ${r.seat}`);
  if (r.from && r.to) parts.push(fmtDate(r.from) === fmtDate(r.to) ? `${md(r.from)}–${hm(r.to)}` : `${md(r.from)}–${md(r.to)}`);
  else if (r.from) parts.push(md(r.from));
  if (r.overlap_minutes) parts.push(`重叠${r.overlap_minutes}分钟`);
  return parts.join(' ');
}

// the run's window as text
export const windowText = (run) => `${fmtTime(run.from)} 至 ${fmtTime(run.to)}`;
