// 企业复工 (docs/enterprise.md): resume-work applications (an enterprise
// submits, the street reviews), the enterprises of the scope with their
// status, and an enterprise's employees.
export default [
  { path: 'enterprise/resume', component: () => import('./views/enterprise/ResumeWork.vue'), meta: { menu: '企业复工', perm: 'employee.read', icon: 'OfficeBuilding', title: '企业复工' } },
  // 复工复产监测: per street and industry, drill-down, exports (street and district staff)
  { path: 'enterprise/monitor', component: () => import('./views/enterprise/ResumeMonitor.vue'), meta: { menu: '复工复产监测', perm: 'enterprise.monitor', icon: 'DataLine', title: '复工复产监测' } },
  // 排班: the enterprise account's shifts and who works which on a day (the pass depends on it)
  { path: 'enterprise/shifts', component: () => import('./views/enterprise/Shifts.vue'), meta: { menu: '员工排班', perm: 'employee.write', icon: 'Calendar', title: '员工排班' } },
];
