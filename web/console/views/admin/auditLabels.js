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
  'code.rules': '修改赋码规则', 'venue.code_regenerate': '重新生成场所码', 'venue.code_reissue': '按新密钥重新签发场所码', 'visitor.code': '查看访客码',
  'visitor.scan': '访客核验', 'device.secret_reset': '重置设备凭据', 'zone.end': '解除封控区域',
  'person.scan': '扫码打开人员信息', 'person.confirm': '核验人员信息无误',
  'risk_area.import_upload': '上传风险地区导入文件', 'risk_area.import_errors': '下载风险地区导入错误报告',
};

export function actionLabel(action) {
  if (WHOLE[action]) return WHOLE[action];
  const [obj, verb] = String(action).split('.');
  return OBJECTS[obj] && VERBS[verb] ? `${VERBS[verb]}${OBJECTS[obj]}` : action;
}

export const objectLabel = (t) => OBJECTS[t] || t || '—';

// The built-in roles (src/security/rbac.c) by key; a custom role shows its key.
const ROLES = {
  citizen: '市民', enterprise: '企事业单位', grid_worker: '网格员', doctor: '社区医生',
  checkpoint_staff: '卡口人员', community_staff: '社区工作人员', street_staff: '街道工作人员',
  site_staff: '核酸点位人员', lab: '检测机构', command_center: '指挥中心', leader: '领导',
  system_admin: '系统管理员', security_admin: '安全管理员', audit_admin: '审计管理员',
  exchange_client: '数据交换调用方', resident: '居民',
};
export const roleLabel = (r) => ROLES[r] || r || '—';

// A result is "ok" or the error slug the request ended with (src/base/error.h).
const RESULTS = {
  ok: '成功', forbidden: '无权限', not_found: '不存在', unauthorized: '未登录', refused: '已拒绝',
  invalid_value: '参数无效', invalid_parameter: '参数无效', required: '缺少必填项', rate_limited: '过于频繁',
  conflict: '冲突', bad_password: '密码错误', locked: '已锁定', invalid_region: '区划无效',
  out_of_scope: '超出管辖范围', duplicate: '重复', expired: '已过期', invalid_token: '凭据无效',
};
export const resultLabel = (r) => RESULTS[r] || (r ? `失败（${r}）` : '—');
