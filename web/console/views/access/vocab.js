// The vocabularies of codes, venues and passages with the server's names
// and Chinese labels (src/code/engine.c, src/venue/venue.c). The server
// rejects other names.
const list = (pairs) => pairs.map(([value, label]) => ({ value, label }));

export const COLOURS = list([['green', '绿码'], ['yellow', '黄码'], ['red', '红码']]);
export const COLOUR_TAG = { green: 'success', yellow: 'warning', red: 'danger' };
export const colourLabel = (c) => COLOURS.find((x) => x.value === c)?.label || c;

export const VENUE_KINDS = list([
  ['community_gate', '小区出入口'], ['building', '楼栋'], ['market', '市场/商超'], ['shop', '商铺'],
  ['office', '办公场所'], ['testing_site', '核酸采样点'], ['transport', '交通场站'], ['school', '学校'],
  ['hospital', '医疗机构'], ['restaurant', '餐饮场所'], ['public', '公共场所'], ['other', '其他'],
]);
export const DIRECTIONS = list([['both', '进出'], ['in', '仅进入'], ['out', '仅离开']]);

// The parameters of each kind of code rule and how they are edited.
export const RULE_PARAMS = {
  statuses: { label: '人员状态', type: 'statuses' },
  degree: { label: '密接层级', type: 'int', min: 1, max: 2 },
  days: { label: '天数', type: 'int', min: 1, max: 60 },
  hours: { label: '小时数', type: 'int', min: 1, max: 720 },
  threshold: { label: '发热阈值（℃）', type: 'number', min: 37, max: 42, step: 0.1 },
  level: { label: '风险等级', type: 'select', options: list([['medium', '中风险及以上'], ['high', '高风险']]) },
  zone: { label: '区域', type: 'select', options: list([['sealed', '封控区'], ['controlled', '管控区'], ['prevention', '防范区']]) },
};

export const ALERT_KINDS = list([
  ['fever', '体温异常'], ['entry_limit', '超出出入次数'], ['code_colour', '红黄码'],
  ['device_silent', '设备离线'], ['device_fever', '设备测温异常'], ['security', '安全事件'],
]);

// Visitors, vehicles and devices (src/visitor/, src/vehicle/, src/device/).
export const VISITOR_STATUSES = list([['pending', '待审核'], ['confirmed', '已通过'], ['refused', '已拒绝'], ['cancelled', '已取消']]);
export const VISITOR_STATUS_TAG = { pending: 'warning', confirmed: 'success', refused: 'danger', cancelled: 'info' };
export const ID_TYPES = list([
  ['resident_id', '居民身份证'], ['passport', '护照'], ['hk_macao_permit', '港澳居民来往内地通行证'],
  ['taiwan_permit', '台湾居民来往大陆通行证'], ['foreign_pr_card', '外国人永久居留身份证'], ['other', '其他证件'],
]);
export const VEHICLE_KINDS = list([['car', '小型汽车'], ['new_energy', '新能源汽车'], ['truck', '货车'], ['motorcycle', '摩托车'], ['other', '其他']]);
export const PASSAGE_REASONS = { registered: '本社区登记车辆', visitor: '已审核的访客车辆', exit: '驶出', unregistered: '未登记车辆' };
export const DEVICE_KINDS = list([['thermometer', '测温设备'], ['gate', '门禁闸机'], ['camera', '车牌识别摄像机']]);
export const DEVICE_STATUS = { online: { label: '在线', tag: 'success' }, silent: { label: '离线', tag: 'danger' }, disabled: { label: '已停用', tag: 'info' } };
export const labelOf = (vocab, v) => vocab.find((x) => x.value === v)?.label || v || '—';
