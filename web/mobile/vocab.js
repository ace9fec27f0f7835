// The server's vocabularies (GET /api/v1/vocabularies, docs/api.md), loaded
// once per page load for every mobile page: each value with its Chinese
// name as the server's own tables hold them, so no page keeps a copy. The
// lists are reactive arrays of { value, text, label } (Vant reads `text`)
// filled in place when the document arrives; the router awaits
// loadVocabularies() before the first signed-in page.
import { reactive } from 'vue';
import { get } from '@shared/api.js';

const lists = {};

// The values of vocabulary `key` ("id_types", …), filled on load.
export function vocab(key) {
  if (!lists[key]) lists[key] = reactive([]);
  return lists[key];
}

// The person fields a resident may change (the server's
// PERSON_SELF_EDITABLE, src/person/person.h), and those of them the server
// masks in replies (from the vocabulary of person fields).
export const EDITABLE = [
  'address', 'current_location', 'emergency_contact_name', 'emergency_contact_phone',
  'employed', 'employer', 'work_address',
];
export const MASKED = reactive([]);

let loading = null;
// Load the document once (a failure is tried again by the next call).
export function loadVocabularies() {
  if (!loading) {
    loading = get('/api/v1/vocabularies', { noRedirect: true })
      .then((doc) => {
        for (const [key, v] of Object.entries(doc))
          vocab(key).splice(0, Infinity, ...v.items.map((x) => ({ ...x, text: x.label })));
        const masked = (doc.person_fields?.items ?? []).filter((f) => f.masked).map((f) => f.value);
        MASKED.splice(0, Infinity, ...EDITABLE.filter((f) => masked.includes(f)));
      })
      .catch((e) => {
        loading = null;
        throw e;
      });
  }
  return loading;
}

export const ID_TYPES = vocab('id_types');
export const CATEGORIES = vocab('person_categories');
export const GENDERS = vocab('genders');
export const VULNERABLE = vocab('vulnerable_groups');
export const VEHICLE_KINDS = vocab('vehicle_kinds');
export const VISITOR_STATUSES = vocab('visitor_statuses');
export const COLOURS = vocab('code_colors');
export const SYMPTOMS = vocab('symptoms');
export const ALERT_LEVELS = vocab('alert_levels');

// The Chinese name of `value` in a list; '—' when none or unknown.
export function label(list, value) {
  return list.find((x) => x.value === value)?.text || '—';
}
