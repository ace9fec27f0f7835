// 疫情处置: the case workflow (docs/cases.md) — the reports inbox, the
// observation list, the checks (健康监测记录), quarantine sites and their rooms, and the rules that
// route reports and set observation periods, the Excel import, and the health commission's
// investigations and doctors.
const cases = { group: '疫情处置', groupIcon: 'FirstAidKit' };

export default [
  { path: 'incidents', component: () => import('./views/cases/Incidents.vue'), meta: { menu: '事件受理', perm: 'case.read', icon: 'Message', title: '事件受理', ...cases } },
  { path: 'observations', component: () => import('./views/cases/Observations.vue'), meta: { menu: '隔离观察名单', perm: 'case.read', icon: 'Document', title: '隔离观察名单', ...cases } },
  // an observation's page, opened from the list (the name is a link)
  { path: 'observations/:id', component: () => import('./views/cases/ObservationPage.vue'), meta: { perm: 'case.read', title: '隔离观察详情' } },
  { path: 'checks', component: () => import('./views/cases/Checks.vue'), meta: { menu: '健康监测记录', perm: 'case.read', icon: 'Monitor', title: '健康监测记录', ...cases } },
  { path: 'quarantine-sites', component: () => import('./views/cases/Sites.vue'), meta: { menu: '隔离点与房间', perm: 'case.read', icon: 'OfficeBuilding', title: '隔离点与房间', ...cases } },
  // the health commission's investigations and doctors (docs/commission.md)
  { path: 'commission', component: () => import('./views/commission/Investigations.vue'), meta: { menu: '卫健流调与医生', perm: 'commission.read', icon: 'FirstAidKit', title: '卫健数据（流调信息、医生信息）', ...cases } },
  { path: 'case-import', component: () => import('./views/cases/Import.vue'), meta: { menu: '导入导出', perm: 'case.import', icon: 'Upload', title: '导入导出', ...cases } },
  { path: 'case-rules', component: () => import('./views/cases/CaseRules.vue'), meta: { menu: '规则配置', perm: 'case.read', icon: 'Setting', title: '规则配置', ...cases } },
];
