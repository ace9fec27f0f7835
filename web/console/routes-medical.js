// 医疗资源: institutions with their beds, ICU beds and testing capacity,
// the hospital staff's report and its history (docs/supplies.md "Medical
// resources"). Readers need medical.read; the report button medical.report.
export default [
  { path: 'medical', component: () => import('./views/medical/Medical.vue'), meta: { menu: '医疗资源', perm: 'medical.read', icon: 'FirstAidKit', title: '医疗资源' } },
];
