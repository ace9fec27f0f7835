// 数据交换: the callers (调用方) other systems sign their calls as, their
// SM2 keys (docs/exchange.md). The security administrator (exchange.admin)
// registers, rotates, revokes and suspends them; and the peers (对接系统)
// we call, with the outbox that delivers our changes to them.
const group = { group: '数据交换', groupIcon: 'Connection' };

export default [
  // 对接系统: the systems we call (gov, police, a parent instance…), their state and outbox
  { path: 'exchange/peers', component: () => import('./views/exchange/Peers.vue'), meta: { menu: '对接系统', perm: 'exchange.admin', icon: 'Share', title: '对接系统', ...group } },
  { path: 'exchange/callers', component: () => import('./views/exchange/Callers.vue'), meta: { menu: '调用方', perm: 'exchange.admin', icon: 'Key', title: '数据交换调用方', ...group } },
];
