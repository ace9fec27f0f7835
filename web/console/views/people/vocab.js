// The person record's vocabularies with the server's names and Chinese
// labels (src/person/fields.c, src/person/api.c), and how a field's value
// reads on screen. Keep in step with the server: it rejects other names.
import { fmtTime } from '@shared/format.js';

const list = (pairs) => pairs.map(([value, label]) => ({ value, label }));

export const ID_TYPES = list([
  ['resident_id', '居民身份证'],
  ['passport', '护照'],
  ['hk_macao_permit', '港澳居民来往内地通行证'],
  ['taiwan_permit', '台湾居民来往大陆通行证'],
  ['foreign_pr_card', '外国人永久居留身份证'],
  ['other', '其他'],
]);
export const GENDERS = list([['male', '男'], ['female', '女'], ['unknown', '未知']]);
export const CATEGORIES = list([
  ['resident', '常住人员'], ['visitor', '外来人员'], ['returnee', '返回人员'], ['transit', '过境人员'],
]);
export const STATUSES = list([
  ['normal', '正常'], ['observation', '隔离观察'], ['home_isolation', '居家隔离'],
  ['central_quarantine', '集中隔离'], ['suspected', '疑似'], ['confirmed', '确诊'],
  ['asymptomatic', '无症状'], ['cured', '治愈'], ['dead', '死亡'],
]);
export const VULNERABLE = list([
  ['pregnant', '孕产妇'], ['elderly_alone', '独居老人'], ['chronic_disease', '慢性病患者'],
  ['disabled', '残疾人'], ['child', '儿童'],
]);
export const SOURCES = list([
  ['staff', '工作人员登记'], ['self', '本人申报'], ['cdc', '疾控中心'], ['community_team', '三人小组'],
  ['grid', '网格排查'], ['checkpoint', '卡口排查'], ['import', '批量导入'], ['exchange', '数据交换'],
]);

// Field name -> label, in the server's field order.
export const FIELD_LABELS = {
  name: '姓名', id_type: '证件类型', id_number: '证件号码', native_place: '籍贯', gender: '性别',
  birth_date: '出生日期', category: '人员类型', inbound: '是否入境人员', region_code: '所属区划',
  address: '现住址', household: '户号', household_relation: '与户主关系', phone: '手机号码',
  emergency_contact_name: '紧急联系人', emergency_contact_phone: '紧急联系人电话', employed: '是否在职',
  employer: '工作单位', work_address: '工作地址', current_location: '目前所在地', vulnerable: '重点人群',
  status: '状态', source: '信息来源', consent_at: '同意采集时间',
  verified: '身份核验', // history only: staff saw the document (POST …/verify)
};

// The fields the server masks for callers without person.reveal.
export const MASKED_FIELDS = [
  'name', 'id_number', 'birth_date', 'address', 'phone', 'emergency_contact_name',
  'emergency_contact_phone', 'work_address',
];

const byField = {
  id_type: ID_TYPES, gender: GENDERS, category: CATEGORIES, status: STATUSES, source: SOURCES,
};

export function labelOf(options, value) {
  return options.find((o) => o.value === value)?.label ?? value;
}

// A field's value as people read it: labels for names, 是/否, times.
export function fieldText(field, value) {
  if (value === null || value === undefined || value === '') return '—';
  if (byField[field]) return labelOf(byField[field], value);
  if (field === 'verified') return value ? '已核验' : '待核验';
  if (typeof value === 'boolean') return value ? '是' : '否';
  if (field === 'vulnerable') return value.length ? value.map((v) => labelOf(VULNERABLE, v)).join('、') : '无';
  if (field === 'consent_at') return fmtTime(value);
  return String(value);
}

// Status tag colours: the more serious, the warmer.
export const STATUS_TAG = {
  normal: 'success', observation: 'warning', home_isolation: 'warning', central_quarantine: 'warning',
  suspected: 'danger', confirmed: 'danger', asymptomatic: 'danger', cured: 'info', dead: 'info',
};
