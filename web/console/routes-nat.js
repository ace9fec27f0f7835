// 核酸检测 (issue 10, docs/nat.md): testing sites, the clock-ins of their
// staff, mass-testing plans with planned vs actual per street and industry
// and the streets' corrections, the industries list, and sampling: the
// samples, the tubes and the scans per site and hour; the laboratory's
// result entry and the retest list.
const nat = { group: '核酸检测', groupIcon: 'Aim' };

export default [
  { path: 'nat/sites', component: () => import('./views/nat/Sites.vue'), meta: { menu: '核酸点位', perm: 'nat.read', icon: 'Location', title: '核酸点位', ...nat } },
  { path: 'nat/clockins', component: () => import('./views/nat/Clockins.vue'), meta: { menu: '打卡记录', perm: 'nat.read', icon: 'Clock', title: '点位人员打卡记录', ...nat } },
  { path: 'nat/plans', component: () => import('./views/nat/Plans.vue'), meta: { menu: '应检计划', perm: 'nat.read', icon: 'Histogram', title: '大规模核酸应检计划', ...nat } },
  { path: 'nat/city-sites', component: () => import('./views/nat/CitySites.vue'), meta: { menu: '城市点位匹配', perm: 'nat.read', icon: 'Connection', title: '城市点位匹配（东软核酸数据）', ...nat } },
  { path: 'nat/samples', component: () => import('./views/nat/Samples.vue'), meta: { menu: '采样记录', perm: 'nat.read', icon: 'Tickets', title: '采样记录', ...nat } },
  { path: 'nat/tubes', component: () => import('./views/nat/Tubes.vue'), meta: { menu: '试管', perm: 'nat.read', icon: 'Box', title: '试管', ...nat } },
  { path: 'nat/lab', component: () => import('./views/nat/Lab.vue'), meta: { menu: '检测结果录入', perm: 'nat.result', icon: 'EditPen', title: '检测结果录入（实验室）', ...nat } },
  { path: 'nat/retests', component: () => import('./views/nat/Retests.vue'), meta: { menu: '复核名单', perm: 'nat.read', icon: 'Warning', title: '单管复核与重新采样名单', ...nat } },
  { path: 'nat/scans', component: () => import('./views/nat/Scans.vue'), meta: { menu: '点位扫码人数', perm: 'nat.read', icon: 'DataLine', title: '点位扫码人数（按小时）', ...nat } },
  { path: 'nat/industries', component: () => import('./views/nat/Industries.vue'), meta: { menu: '行业', perm: 'nat.read', icon: 'CollectionTag', title: '行业', ...nat } },
];
