// 监测预警: the automatic monitoring rules and today's breaches in scope
// (docs/monitor.md). Leaders and staff read them (monitor.read); the command
// centre edits the rules and runs them now (monitor.write).
export default [
  { path: 'monitor', component: () => import('./views/monitor/Monitor.vue'), meta: { menu: '监测预警', perm: 'monitor.read', icon: 'Warning', title: '监测预警' } },
];
