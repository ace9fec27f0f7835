// 数据交换 > 交换监控: calls of the exchange per minute, errors, rejected
// signatures, each caller and peer (docs/exchange.md "Monitoring").
// exchange.read; the page polls GET /api/v1/exchange/monitor.
export default [
  { path: 'exchange/monitor', component: () => import('./views/exchange/Monitor.vue'), meta: { menu: '交换监控', perm: 'exchange.read', icon: 'DataLine', title: '交换监控', group: '数据交换', groupIcon: 'Connection' } },
];
