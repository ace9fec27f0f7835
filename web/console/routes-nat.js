// 核酸检测 (issue 10, docs/nat.md): testing sites, the clock-ins of their
// staff, mass-testing plans with planned vs actual per street and industry
// and the streets' corrections, and the industries list.
const nat = { group: '核酸检测', groupIcon: 'Aim' };

export default [
  { path: 'nat/sites', component: () => import('./views/nat/Sites.vue'), meta: { menu: '核酸点位', perm: 'nat.read', icon: 'Location', title: '核酸点位', ...nat } },
  { path: 'nat/clockins', component: () => import('./views/nat/Clockins.vue'), meta: { menu: '打卡记录', perm: 'nat.read', icon: 'Clock', title: '点位人员打卡记录', ...nat } },
  { path: 'nat/plans', component: () => import('./views/nat/Plans.vue'), meta: { menu: '应检计划', perm: 'nat.read', icon: 'Histogram', title: '大规模核酸应检计划', ...nat } },
  { path: 'nat/industries', component: () => import('./views/nat/Industries.vue'), meta: { menu: '行业', perm: 'nat.read', icon: 'CollectionTag', title: '行业', ...nat } },
  { path: 'nat/lookup', component: () => import('./views/nat/Lookup.vue'), meta: { menu: '核酸结果查询', perm: 'nat.lookup', icon: 'Search', title: '核酸结果查询', ...nat } },
];
