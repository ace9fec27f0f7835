// 流调溯源 (issue 11, docs/tracing.md): the trips of key persons (出行记录:
// dates, transport out and back, waypoints with their stays) and the
// designated risk areas (docs/health-code.md "Risk areas"); contact tracing
// and the itinerary join this group in later parts.
const trace = { group: '流调溯源', groupIcon: 'Share' };

export default [
  { path: 'trace/trips', component: () => import('./views/trace/Trips.vue'), meta: { menu: '重点人员行程', perm: 'trace.read', icon: 'Guide', title: '重点人员行程', ...trace } },
  // ---- zones (封控区/管控区/防范区, docs/zones.md) ----
  { path: 'trace/zones', component: () => import('./views/trace/Zones.vue'), meta: { menu: '封控管控', perm: 'code.read', icon: 'Lock', title: '封控区、管控区、防范区', ...trace } },
  // ---- end of the zones' block ----
  { path: 'trace/risk-areas', component: () => import('./views/trace/RiskAreas.vue'), meta: { menu: '中高风险地区', perm: 'code.read', icon: 'WarningFilled', title: '中高风险地区', ...trace } },
  // contact tracing: the runs, one run's page (from the list, a person's page or an alert)
  { path: 'trace/contacts', component: () => import('./views/trace/Traces.vue'), meta: { menu: '密接追踪', perm: 'trace.read', icon: 'Share', title: '密接追踪', ...trace } },
  { path: 'trace/contacts/:id', component: () => import('./views/trace/TraceRun.vue'), meta: { perm: 'trace.read', title: '密接追踪详情' } },
  // investigations and transmission chains
  { path: 'trace/investigations', component: () => import('./views/trace/Investigations.vue'), meta: { menu: '流调记录', perm: 'trace.read', icon: 'Document', title: '流调记录', ...trace } },
  { path: 'trace/clusters', component: () => import('./views/trace/Clusters.vue'), meta: { menu: '传播链', perm: 'trace.read', icon: 'Connection', title: '传播链与聚集性疫情', ...trace } },
];
