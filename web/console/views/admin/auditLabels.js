// Chinese names of what the audit log records, so an auditor reads "查看人员"
// rather than "person.read". An action missing here shows as recorded.
const OBJECTS = {
  person: '人员', place: '场所', enterprise: '企业', region: '区划', user: '用户', role: '角色',
  department: '部门', audit: '审计日志', auth: '登录', consent: '授权同意', backup: '备份', sms: '短信',
  venue: '点位', vehicle: '车辆', visitor: '访客', device: '设备', alert: '告警', access_record: '出入记录',
  declaration: '健康申报', temperature: '体温', risk_area: '风险地区', zone: '封控区域', job: '后台任务',
};
const VERBS = {
  create: '新增', read: '查看', list: '查询', update: '修改', delete: '删除', reveal: '查看完整信息',
  history: '查看变更记录', import: '导入', move: '迁移', lock: '锁定', unlock: '解锁',
  logout_all: '全部退出', password_reset: '重置密码', totp_reset: '重置动态验证码', verify: '完整性校验',
  self_register: '本人登记', self_update: '本人修改', give: '同意', withdraw: '撤回', restore: '恢复',
};
const WHOLE = {
  'auth.login': '账号登录', 'auth.logout': '退出登录', 'auth.logout_all': '全部设备退出',
  'auth.password_change': '修改密码', 'auth.sms_login': '短信登录', 'auth.sms_send': '发送短信验证码',
  'auth.totp_begin': '开始绑定动态验证码', 'auth.totp_enable': '启用动态验证码', 'auth.totp_reset': '关闭动态验证码',
  'consent.give': '同意信息采集', 'consent.withdraw': '撤回同意', 'backup.create': '创建备份',
  'access.scan': '扫码核验', 'alert.ack': '处置告警', 'code.read': '查看健康码', 'code.history': '查看健康码记录',
  'code.rules': '修改赋码规则', 'venue.code_regenerate': '重新生成场所码', 'visitor.code': '查看访客码',
  'visitor.scan': '访客核验', 'device.secret_reset': '重置设备凭据', 'zone.end': '解除封控区域',
};

export function actionLabel(action) {
  if (WHOLE[action]) return WHOLE[action];
  const [obj, verb] = String(action).split('.');
  return OBJECTS[obj] && VERBS[verb] ? `${VERBS[verb]}${OBJECTS[obj]}` : action;
}

export const objectLabel = (t) => OBJECTS[t] || t || '—';

export const resultLabel = (r) => (r === 'ok' ? '成功' : r);
