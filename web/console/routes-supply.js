// 物资调度: requests, dispatch, deliveries and their chain, warehouses and
// stock, the supply / demand balance (docs/supplies.md). Readers need
// supply.read; the buttons inside follow supply.report and supply.dispatch.
export default [
  { path: 'supply', component: () => import('./views/supply/Supply.vue'), meta: { menu: '物资调度', perm: 'supply.read', icon: 'Box', title: '物资调度' } },
];
