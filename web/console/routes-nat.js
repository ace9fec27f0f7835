// 核酸检测 (issue 10, docs/nat.md): testing sites, the clock-ins of their
// staff, mass-testing plans with planned vs actual per street and industry
// and the streets' corrections, the industries list, the city's site list
// matched to the district's, sampling (the samples, the tubes and the scans
// per site and hour), transport (the boxes with their tubes and chain of
// hand-overs), the laboratory's result entry and the retest list, the
// result look-ups, the historical rounds (schools, streets), and the hotline's work orders (接诉即办,
// docs/hotline.md) with their rules and counts.
const nat = { group: '核酸检测', groupIcon: 'Aim' };

export default [
  { path: 'nat/sites', component: () => import('./views/nat/Sites.vue'), meta: { menu: '核酸点位', perm: 'nat.read', icon: 'Location', title: '核酸点位', ...nat } },
  { path: 'nat/clockins', component: () => import('./views/nat/Clockins.vue'), meta: { menu: '打卡记录', perm: 'nat.read', icon: 'Clock', title: '点位人员打卡记录', ...nat } },
  { path: 'nat/plans', component: () => import('./views/nat/Plans.vue'), meta: { menu: '应检计划', perm: 'nat.read', icon: 'Histogram', title: '大规模核酸应检计划', ...nat } },
  { path: 'nat/city-sites', component: () => import('./views/nat/CitySites.vue'), meta: { menu: '城市点位匹配', perm: 'nat.read', icon: 'Connection', title: '城市点位匹配（东软核酸数据）', ...nat } },
  { path: 'nat/samples', component: () => import('./views/nat/Samples.vue'), meta: { menu: '采样记录', perm: 'nat.read', icon: 'Tickets', title: '采样记录', ...nat } },
  { path: 'nat/tubes', component: () => import('./views/nat/Tubes.vue'), meta: { menu: '试管', perm: 'nat.read', icon: 'Box', title: '试管', ...nat } },
  { path: 'nat/boxes', component: () => import('./views/nat/Boxes.vue'), meta: { menu: '转运箱', perm: 'nat.read', icon: 'Van', title: '核酸转运箱', ...nat } },
  { path: 'nat/lab', component: () => import('./views/nat/Lab.vue'), meta: { menu: '检测结果录入', perm: 'nat.result', icon: 'EditPen', title: '检测结果录入（实验室）', ...nat } },
  { path: 'nat/retests', component: () => import('./views/nat/Retests.vue'), meta: { menu: '复核名单', perm: 'nat.read', icon: 'Warning', title: '单管复核与重新采样名单', ...nat } },
  { path: 'nat/stats', component: () => import('./views/nat/Stats.vue'), meta: { menu: '核酸统计', perm: 'nat.read', icon: 'PieChart', title: '核酸统计（街道、区级、行业）', ...nat } },
  { path: 'nat/rounds', component: () => import('./views/nat/Rounds.vue'), meta: { menu: '历史轮次', perm: 'nat.read', icon: 'Calendar', title: '历史轮次（中小学及街道轮次核酸）', ...nat } },
  { path: 'nat/scans', component: () => import('./views/nat/Scans.vue'), meta: { menu: '点位扫码人数', perm: 'nat.read', icon: 'DataLine', title: '点位扫码人数（按小时）', ...nat } },
  { path: 'nat/hotline', component: () => import('./views/nat/hotline/Tickets.vue'), meta: { menu: '接诉即办', perm: 'hotline.read', icon: 'Phone', title: '接诉即办工单', ...nat } },
  { path: 'nat/hotline-counts', component: () => import('./views/nat/hotline/Counts.vue'), meta: { menu: '接诉即办统计', perm: 'hotline.read', icon: 'DataAnalysis', title: '接诉即办统计', ...nat } },
  { path: 'nat/hotline-rules', component: () => import('./views/nat/hotline/Rules.vue'), meta: { menu: '抽取规则', perm: 'hotline.read', icon: 'Filter', title: '接诉即办抽取规则', ...nat } },
  { path: 'nat/industries', component: () => import('./views/nat/Industries.vue'), meta: { menu: '行业', perm: 'nat.read', icon: 'CollectionTag', title: '行业', ...nat } },
  { path: 'nat/lookup', component: () => import('./views/nat/Lookup.vue'), meta: { menu: '核酸结果查询', perm: 'nat.lookup', icon: 'Search', title: '核酸结果查询', ...nat } },
];
