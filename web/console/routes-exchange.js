// 数据交换: the callers (调用方) other systems sign their calls as, their
// SM2 keys (docs/exchange.md). The security administrator (exchange.admin)
// registers, rotates, revokes and suspends them.
const group = { group: '数据交换', groupIcon: 'Connection' };

export default [
  { path: 'exchange/callers', component: () => import('./views/exchange/Callers.vue'), meta: { menu: '调用方', perm: 'exchange.admin', icon: 'Key', title: '数据交换调用方', ...group } },
];
