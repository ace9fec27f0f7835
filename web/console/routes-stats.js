// 统计分析: the leaders' figures, trends and drill-down by region, the
// records behind a number; 统计对比: two regions, two periods, trends by
// category (docs/stats.md).
export default [
  { path: 'stats', component: () => import('./views/stats/Stats.vue'), meta: { menu: '统计分析', perm: 'stats.read', icon: 'DataAnalysis', title: '统计分析' } },
  // 自定义报表 (docs/reports.md): definitions, runs and exports
  { path: 'custom-reports', component: () => import('./views/stats/Reports.vue'), meta: { menu: '自定义报表', perm: 'report.run', icon: 'Document', title: '自定义报表' } },
  // 全国及各省疫情 (seed 001 §5.2; docs/exchange.md "Connectors"): the imported situation feed
  { path: 'stats/situation', component: () => import('./views/stats/Situation.vue'), meta: { perm: 'stats.read', title: '全国及各省疫情' } },
  { path: 'stats/compare', component: () => import('./views/stats/Compare.vue'), meta: { perm: 'stats.read', title: '统计对比' } },
];
