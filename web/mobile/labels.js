// Chinese labels of the person record's vocabularies (the API's names, as
// in src/person/fields.c and src/person/api.c).
export const ID_TYPES = [
  { value: 'resident_id', text: '居民身份证' },
  { value: 'passport', text: '护照' },
  { value: 'hk_macao_permit', text: '港澳居民来往内地通行证' },
  { value: 'taiwan_permit', text: '台湾居民来往大陆通行证' },
  { value: 'foreign_pr_card', text: '外国人永久居留身份证' },
  { value: 'other', text: '其他证件' },
];

export const CATEGORIES = [
  { value: 'resident', text: '常住人员' },
  { value: 'visitor', text: '外来人员' },
  { value: 'returnee', text: '返回人员' },
  { value: 'transit', text: '过境人员' },
];

export const GENDERS = [
  { value: 'male', text: '男' },
  { value: 'female', text: '女' },
  { value: 'unknown', text: '未知' },
];

export const VULNERABLE = [
  { value: 'pregnant', text: '孕产妇' },
  { value: 'elderly_alone', text: '独居老人' },
  { value: 'chronic_disease', text: '慢性病患者' },
  { value: 'disabled', text: '残疾人' },
  { value: 'child', text: '儿童' },
];

export function label(list, value) {
  return list.find((x) => x.value === value)?.text || '—';
}

// The fields EditableFields.vue shows (the server's RESIDENT_EDITABLE), and
// those of them the server masks in replies.
export const EDITABLE = [
  'address', 'current_location', 'emergency_contact_name', 'emergency_contact_phone',
  'employed', 'employer', 'work_address',
];
export const MASKED = ['address', 'emergency_contact_name', 'emergency_contact_phone', 'work_address'];

// A form's values as a request body, without empty text and empty lists.
export function bodyOf(form, keys) {
  const out = {};
  for (const k of keys) {
    const v = form[k];
    if (v === '' || v === null || (Array.isArray(v) && !v.length)) continue;
    out[k] = v;
  }
  return out;
}
