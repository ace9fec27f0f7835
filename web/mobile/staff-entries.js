// What field staff can do from their phone. An entry shows when the user
// holds its permission (`perm`) or one of its roles (`roles`: work that
// belongs to a role rather than to a permission, like a doctor's patrol).
// Every entry opens its page (`to`): a tile without one would be a
// placeholder, and tests/browser/mobile-staff.test.mjs refuses it.
export const STAFF_ENTRIES = [
  { key: 'tasks', title: '我的任务', icon: 'todo-list-o', perm: 'task.work', to: '/staff/tasks' },
  { key: 'person-search', title: '人员查询', icon: 'search', perm: 'person.read', to: '/staff/persons' },
  { key: 'person-register', title: '人员登记', icon: 'add-o', perm: 'person.write', to: '/staff/persons/new' },
  { key: 'home-verification', title: '入户核实', icon: 'home-o', roles: ['grid_worker'], to: '/staff/tasks' },
  { key: 'report', title: '疫情上报', icon: 'warning-o', roles: ['grid_worker', 'doctor', 'checkpoint_staff', 'community_staff', 'street_staff'], to: '/staff/report' },
  { key: 'patrol', title: '巡查与体征检查', icon: 'medal-o', roles: ['doctor'], to: '/staff/patrol' },
  { key: 'observation', title: '隔离观察名单', icon: 'todo-list-o', roles: ['doctor', 'grid_worker'], to: '/staff/observations' },
  { key: 'scan', title: '扫码核验', icon: 'scan', roles: ['checkpoint_staff'], to: '/staff/scan' },
  // 核验补录 (seed 002 二(一)1): scan a resident's code to open their record
  { key: 'record-scan', title: '扫码核验补录', icon: 'idcard', perm: 'person.read', to: '/staff/verify' },
  { key: 'alerts', title: '预警', icon: 'bell', perm: 'alert.read', to: '/staff/alerts' },
  { key: 'visitors', title: '访客审核', icon: 'friends-o', perm: 'visitor.confirm', to: '/staff/visitors' },
  { key: 'access-log', title: '出入登记', icon: 'records-o', roles: ['checkpoint_staff'], to: '/staff/access-log' },
  // 点位打卡 and 排队上报 (issue 10): site staff at the testing sites of their scope
  { key: 'nat-clockin', title: '点位打卡', icon: 'location-o', roles: ['site_staff'], to: '/staff/nat' },
  // 核酸采样 (issue 10 part 2): health code then tube, at the site clocked in at
  { key: 'sampling', title: '核酸采样', icon: 'bag-o', roles: ['site_staff'], to: '/staff/nat/sample' },
  // transport (issue 10 part 3): 装箱 at the site, 转运交接 by the courier, 签收 at the laboratory
  { key: 'nat-pack', title: '核酸装箱', icon: 'bag', roles: ['site_staff'], to: '/staff/nat/pack' },
  { key: 'nat-transport', title: '转运交接', icon: 'logistics', perm: 'nat.transport', to: '/staff/nat/transport' },
  { key: 'nat-receive', title: '样本签收', icon: 'passed', perm: 'nat.receive', to: '/staff/nat/receive' },
  { key: 'lab-results', title: '检测结果录入', icon: 'orders-o', roles: ['lab'], to: '/staff/lab-results' },
  { key: 'cert-verify', title: '核验解除隔离证明', icon: 'certificate', perm: 'cert.verify', to: '/staff/certificates/verify' },
  // 行程卡核验 (issue 11): scan a resident's 14-day itinerary card
  { key: 'itinerary-verify', title: '行程卡核验', icon: 'guide-o', perm: 'itinerary.verify', to: '/staff/itinerary/verify' },
  { key: 'places', title: '场所查询', icon: 'shop-o', perm: 'place.read', to: '/staff/places' },
  { key: 'enterprises', title: '企业查询', icon: 'cluster-o', perm: 'enterprise.read', to: '/staff/enterprises' },
  { key: 'overview', title: '防控概览', icon: 'chart-trending-o', perm: 'stats.read', to: '/staff/overview' },
  // 监测预警 (docs/monitor.md): the monitoring rules' breaches of today
  { key: 'monitor', title: '监测预警', icon: 'warning-o', perm: 'monitor.read', to: '/staff/monitor' },
  // 商户接单 (issue 14, docs/community-life.md): a daily-goods shop's orders and stock
  { key: 'shop', title: '商户接单', icon: 'shop-o', perm: 'shop.sell', to: '/staff/shop' },
  // 快递外卖登记 (issue 14): the delivery role records arrivals per building
  { key: 'parcel', title: '快递外卖登记', icon: 'logistics', perm: 'parcel.record', to: '/staff/parcel' },
  // 消杀巡查 (issue 14, docs/community-services.md): record a disinfection or patrol with photos
  { key: 'inspect', title: '消杀巡查', icon: 'shield-o', perm: 'assist.work', to: '/staff/inspect' },
  // 志愿服务时长登记 (issue 14): community staff record the time of a project's sign-ups
  { key: 'volunteer-hours', title: '志愿服务时长', icon: 'clock-o', perm: 'volunteer.manage', to: '/staff/volunteer-hours' },
  // 床位填报 (docs/supplies.md "Medical resources"): hospital staff's beds, ICU and testing figures
  { key: 'medical-report', title: '床位填报', icon: 'hotel-o', perm: 'medical.report', to: '/staff/medical' },
  // 电子订货接单 (docs/supplies.md): the bound supplier accepts and ships its orders
  { key: 'supply-orders', title: '电子订货接单', icon: 'logistics', perm: 'supply.fulfil', to: '/staff/supply-orders' },
  // 物资签收 (docs/supplies.md): the requester's receipt of a delivery, with the shortfall
  { key: 'supply-receipts', title: '物资签收', icon: 'sign', perm: 'supply.request', to: '/staff/receipts' },
  // 员工今日打卡 (issue 14, docs/enterprise.md): the enterprise account's employees today
  { key: 'employees-today', title: '员工今日打卡', icon: 'friends-o', roles: ['enterprise'], to: '/staff/employees-today' },
  // 通行证核验: the enterprise's gate checks an employee's pass (on shift, green today)
  { key: 'pass-verify', title: '通行证核验', icon: 'scan', perm: 'employee.pass_verify', to: '/staff/pass-verify' },
  // 今日访客 (docs/enterprise.md "Visitors"): the enterprise account's visitors today, decisions, the gate's check
  { key: 'visitors-today', title: '今日访客', icon: 'friends-o', roles: ['enterprise'], to: '/staff/visitors-today' },
];

export function entriesFor(me) {
  const roles = new Set(me.roles.map((r) => r.key));
  return STAFF_ENTRIES.filter((e) => (e.perm && me.permissions.includes(e.perm)) || e.roles?.some((r) => roles.has(r)));
}
