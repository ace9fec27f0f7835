// 流调溯源 (issue 11, docs/health-code.md "Risk areas"): the tracing pages.
const trace = { group: '流调溯源', groupIcon: 'Share' };

export default [
  { path: 'trace/risk-areas', component: () => import('./views/trace/RiskAreas.vue'), meta: { menu: '中高风险地区', perm: 'code.read', icon: 'WarningFilled', title: '中高风险地区', ...trace } },
];
