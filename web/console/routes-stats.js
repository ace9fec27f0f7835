// 统计分析: the leaders' figures, trends and drill-down by region (docs/stats.md).
export default [
  { path: 'stats', component: () => import('./views/stats/Stats.vue'), meta: { menu: '统计分析', perm: 'stats.read', icon: 'DataAnalysis', title: '统计分析' } },
  // 自定义报表 (docs/reports.md): definitions, runs and exports
  { path: 'custom-reports', component: () => import('./views/stats/Reports.vue'), meta: { menu: '自定义报表', perm: 'report.run', icon: 'Document', title: '自定义报表' } },
];
