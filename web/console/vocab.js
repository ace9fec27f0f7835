// The server's vocabularies (GET /api/v1/vocabularies, docs/api.md), loaded
// once per page load and shared by every page of the console: each value
// with its Chinese name, as the server's own tables hold them, so that no
// page keeps a copy that could fall behind. The lists below are reactive
// arrays of { value, label } filled in place when the document arrives
// (the router awaits loadVocabularies() before the first signed-in page);
// what is presentation only (tag colours, words for derived states) stays
// here.
import { reactive } from 'vue';
import { get } from '@shared/api.js';
import { fmtTime } from '@shared/format.js';

const lists = {};

// The values of vocabulary `key` ("person_statuses", …), filled on load.
export function vocab(key) {
  if (!lists[key]) lists[key] = reactive([]);
  return lists[key];
}

// Field name -> Chinese label of the person record, in the server's field
// order, and the fields the server masks without person.reveal.
export const FIELD_LABELS = reactive({});
export const MASKED_FIELDS = reactive([]);

let loading = null;
// Load the document once (a failure, e.g. before sign-in, is tried again
// by the next call).
export function loadVocabularies() {
  if (!loading) {
    loading = get('/api/v1/vocabularies', { noRedirect: true })
      .then((doc) => {
        for (const [key, v] of Object.entries(doc)) vocab(key).splice(0, Infinity, ...v.items);
        for (const f of doc.person_fields?.items ?? []) FIELD_LABELS[f.value] = f.label;
        FIELD_LABELS.verified = '身份核验'; // history only: staff saw the document (POST …/verify)
        MASKED_FIELDS.splice(0, Infinity, ...(doc.person_fields?.items ?? []).filter((f) => f.masked).map((f) => f.value));
      })
      .catch((e) => {
        loading = null;
        throw e;
      });
  }
  return loading;
}

export const ID_TYPES = vocab('id_types');
export const GENDERS = vocab('genders');
export const CATEGORIES = vocab('person_categories');
export const STATUSES = vocab('person_statuses');
export const VULNERABLE = vocab('vulnerable_groups');
export const SOURCES = vocab('person_sources');
export const COLOURS = vocab('code_colors');
export const ZONE_KINDS = vocab('zone_kinds');
export const PLACE_KINDS = vocab('place_kinds');
export const VENUE_KINDS = vocab('venue_kinds');
export const DIRECTIONS = vocab('venue_directions');
export const DEVICE_KINDS = vocab('device_kinds');
export const VISITOR_STATUSES = vocab('visitor_statuses');
export const VEHICLE_KINDS = vocab('vehicle_kinds');
export const ALERT_KINDS = vocab('alert_kinds');
export const NOTICE_AUDIENCES = vocab('notice_audiences');
export const ARTICLE_KINDS = vocab('article_kinds');
export const POLL_QUESTION_TYPES = vocab('poll_question_types');
export const ALERT_LEVELS = vocab('alert_levels');
export const PERMISSIONS = vocab('permissions');
export const PERMISSION_GROUPS = vocab('permission_groups');
export const TASK_KINDS = vocab('task_kinds');
export const TASK_STATES = vocab('task_states');
export const TASK_PRIORITIES = vocab('task_priorities');
export const CHECK_METHODS = vocab('check_methods');
export const SYMPTOMS = vocab('symptoms');

// The label of `value` in a list; the value itself when unknown, '—' for none.
export function labelOf(list, value) {
  if (value === null || value === undefined || value === '') return '—';
  return list.find((o) => o.value === value)?.label ?? value;
}
export const colourLabel = (c) => labelOf(COLOURS, c);

// A person field's value as people read it: labels for names, 是/否, times.
const byField = {
  id_type: ID_TYPES, gender: GENDERS, category: CATEGORIES, status: STATUSES, source: SOURCES,
};
export function fieldText(field, value) {
  if (value === null || value === undefined || value === '') return '—';
  if (byField[field]) return labelOf(byField[field], value);
  if (field === 'verified') return value ? '已核验' : '待核验';
  if (typeof value === 'boolean') return value ? '是' : '否';
  if (field === 'vulnerable') return value.length ? value.map((v) => labelOf(VULNERABLE, v)).join('、') : '无';
  if (field === 'consent_at') return fmtTime(value);
  return String(value);
}

// ---- presentation only ----------------------------------------------------

// Tag colours: the more serious, the warmer.
export const STATUS_TAG = {
  normal: 'success', observation: 'warning', home_isolation: 'warning', central_quarantine: 'warning',
  suspected: 'danger', confirmed: 'danger', asymptomatic: 'danger', cured: 'info', dead: 'info',
};
export const COLOUR_TAG = { green: 'success', yellow: 'warning', red: 'danger' };
export const VISITOR_STATUS_TAG = { pending: 'warning', confirmed: 'success', refused: 'danger', cancelled: 'info' };
export const DEVICE_STATUS = { online: { label: '在线', tag: 'success' }, silent: { label: '离线', tag: 'danger' }, disabled: { label: '已停用', tag: 'info' } };
// Why a vehicle passage was let through or not (a reply's reason, not a stored value).
export const PASSAGE_REASONS = { registered: '本社区登记车辆', visitor: '已审核的访客车辆', exit: '驶出', unregistered: '未登记车辆' };

// The parameters of each kind of code rule and how they are edited.
const list = (pairs) => pairs.map(([value, label]) => ({ value, label }));
export const RULE_PARAMS = {
  statuses: { label: '人员状态', type: 'statuses' },
  degree: { label: '密接层级', type: 'int', min: 1, max: 2 },
  days: { label: '天数', type: 'int', min: 1, max: 60 },
  hours: { label: '小时数', type: 'int', min: 1, max: 720 },
  threshold: { label: '发热阈值（℃）', type: 'number', min: 37, max: 42, step: 0.1 },
  // a rule's threshold, "this level or above": worded for the rule, not a stored vocabulary
  level: { label: '风险等级', type: 'select', options: list([['medium', '中风险及以上'], ['high', '高风险']]) },
  zone: { label: '区域', type: 'select', options: ZONE_KINDS },
};
