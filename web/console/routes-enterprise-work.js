// 企业复工 (docs/enterprise.md): resume-work applications (an enterprise
// submits, the street reviews), the enterprises of the scope with their
// status, and an enterprise's employees.
export default [
  { path: 'enterprise/resume', component: () => import('./views/enterprise/ResumeWork.vue'), meta: { menu: '企业复工', perm: 'employee.read', icon: 'OfficeBuilding', title: '企业复工' } },
];
